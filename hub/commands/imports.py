"""The shared body of ``hub listings import`` and ``hub restrictions import``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click
from flask.cli import with_appcontext

from hub.commands.common import cli_actor, context, utcnow
from hub.core.codes import CORRECTION_REASONS
from hub.errors import Conflict, InvalidRecord
from hub.services.importer import Rejection, import_records

#: What --encoding accepts, and the codec each reads with. Lines are split at the
#: newline byte before they are decoded, which holds for these two (never a byte of
#: another character) and not for UTF-16 and the like.
ENCODINGS: Final = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}


def run_import(kind: str, file: Path, skip_invalid: bool, correction_reason: str,
               encoding: str) -> None:
    ctx = context()

    def on_reject(rejection: Rejection) -> None:
        for problem in rejection.problems:
            click.echo(f"{file.name}: line {rejection.line}: {problem.field}: {problem.reason}",
                       err=True)

    size = file.stat().st_size
    try:
        with click.progressbar(length=size, label=f"importing {file.name}", file=None,
                               show_eta=True) as bar:
            report = import_records(
                ctx.sessions, file, kind=kind, actor=cli_actor(), now=utcnow(),
                skip_invalid=skip_invalid, correction_reason=correction_reason,
                encoding=encoding, on_progress=bar.update, on_reject=on_reject,
            )
    except InvalidRecord as exc:  # the file itself (its name, header or structure)
        raise click.ClickException(f"{file.name}: {exc}; nothing was imported") from exc
    except Conflict as exc:
        raise click.ClickException(
            f"{file.name}: another import or a clerk wrote a record of this file while it "
            f"ran ({exc}); nothing was imported. Run the import again: the records already "
            "there then count as unchanged or as corrections.") from exc
    if not report.committed:
        click.echo(
            f"{report.rejected} bad line(s) of {report.lines}: nothing was imported. "
            "Fix them, or use --skip-invalid to import the rest.",
            err=True,
        )
        raise SystemExit(1)
    if report.lines == 0:
        # Not an error (a night with nothing new), but a truncated export looks the same.
        click.echo(f"warning: {file.name} holds no records", err=True)
    seqs = f", events {report.first_seq}..{report.last_seq}" if report.first_seq else ""
    click.echo(
        f"{report.lines} line(s): {report.added} added, {report.corrected} corrected, "
        f"{report.unchanged} unchanged, {report.rejected} rejected{seqs}"
    )
    if report.rejects_path and report.rejected:
        click.echo(f"rejected lines written to {report.rejects_path} "
                   f"(reasons in {report.rejects_path.with_suffix('.log')})")
    if report.lines and report.rejected == report.lines:
        # A night's job must not read "nothing imported at all" as success.
        click.echo(f"every line of {file.name} was rejected: nothing was imported", err=True)
        raise SystemExit(1)


def import_command(kind: str) -> click.Command:
    @click.command("import", help=f"Import {kind}s from JSON Lines or CSV (all or nothing).")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--skip-invalid", is_flag=True,
                  help="Import the good lines; write bad ones to FILE.rejects.EXT.")
    @click.option("--correction-reason", type=click.Choice(CORRECTION_REASONS),
                  default="data_inaccurate", show_default=True,
                  help="Reason code for lines that correct an existing record.")
    @click.option("--encoding", type=click.Choice(sorted(ENCODINGS), case_sensitive=False),
                  default="utf-8", show_default=True,
                  help="Text encoding of a CSV file (a byte-order mark is skipped). "
                  "JSON Lines are always UTF-8.")
    @with_appcontext
    def command(file: Path, skip_invalid: bool, correction_reason: str, encoding: str) -> None:
        if encoding.lower() != "utf-8" and file.suffix.lower() != ".csv":
            raise click.BadParameter("JSON Lines are UTF-8 (RFC 8259); the option is for CSV "
                                     "files", param_hint="--encoding")
        run_import(kind, file, skip_invalid, correction_reason, ENCODINGS[encoding.lower()])

    return command
