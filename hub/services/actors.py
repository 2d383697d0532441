"""Who is acting: a staff member of one court, or a bulk caller for all courts."""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Actor:
    """The author of a change, as written into the change log and the audit log."""

    #: ``staff:<username>``, ``cli:<os user>``, ``system:expiry`` ...
    name: str
    #: The court whose records this actor may change; ``None`` for all courts
    #: (the courts' case systems import through the CLI, and the hub itself).
    court_code: str | None = None

    def check_court(self, court_code: str) -> None:
        """Staff change only their own court's records (DESIGN.md §6)."""
        if self.court_code is not None and self.court_code != court_code:
            raise PermissionDenied(
                f"{self.name} belongs to court {self.court_code} and may not change "
                f"records of court {court_code}"
            )


SYSTEM = Actor("system:hub")
