"""``hub partners``: list, show and check the partner configuration files."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup, FlaskGroup

from hub.commands.common import context
from hub.config.partners import LoadedPartner, describe, load_partner_files
from hub.partners.model import PartnerConfigError

group = AppGroup("partners", help="Partner configuration (config/partners/*.toml).")


def _load(only: str | None = None) -> dict[str, LoadedPartner]:
    settings = context().settings
    try:
        return load_partner_files(settings.partners_path, settings.instance_path, only=only)
    except PartnerConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in partner configuration", err=True)
        raise SystemExit(1) from exc


@group.command("list", help="One line per partner: id, name, format, channels, measures.")
def list_cmd() -> None:
    partners = _load()
    rows = [("ID", "NAME", "FORMAT", "CHANNELS", "MEASURES")]
    for pid, loaded in sorted(partners.items()):
        c = loaded.config
        rows.append((pid, c.name, f"{c.format}/{c.encoding}", ",".join(c.channels) or "-",
                     ",".join(c.measures)))
    # Pad by display width: a Chinese character takes two terminal columns.
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))


@group.command("show", help="The merged configuration of one partner and where each value is from.")
@click.argument("partner_id", metavar="ID")
def show_cmd(partner_id: str) -> None:
    if not (context().settings.partners_path / f"{partner_id}.toml").is_file():
        raise click.ClickException(f'no partner "{partner_id}"; `hub partners list` names '
                                   "them all")
    loaded = _load(only=partner_id)[partner_id]
    c = loaded.config
    repo_file = str(loaded.files[0])
    click.echo(f"# {c.id}: {c.name} ({c.name_en})")
    click.echo(f"# from {repo_file}")
    for path in loaded.files[1:]:
        click.echo(f"# overridden by {path} (values marked)")
    click.echo("# values marked 'default' are not set in any file")
    current = ""
    for key, value, origin in describe(loaded):
        table, dot, name = key.rpartition(".")
        if dot and table != current:
            current = table
            click.echo(f"\n[{table}]")
        name = name if dot else key
        if value is None:
            click.echo(f"# {name} is not set")
            continue
        # Only what does not come from the repo file is marked, so the usual case reads clean.
        mark = "" if origin == repo_file else f"  # {origin}"
        click.echo(f"{name} = {_toml(value)}{mark}")


@group.command("check", help="Validate every partner file and override; exit 1 on any mistake.")
def check_cmd() -> None:
    partners = _load()
    click.echo(f"{len(partners)} partner files OK")


@group.command("status", help="Per partner: how far the log was exported, delivered and "
               "acknowledged, the lag (high-water seq - acked seq) and batches held.")
@click.argument("partner_id", metavar="[ID]", required=False)
def status_cmd(partner_id: str | None) -> None:
    from hub.services.progress import progress_report  # a database command only

    if partner_id is not None and not (
            context().settings.partners_path / f"{partner_id}.toml").is_file():
        raise click.ClickException(f'no partner "{partner_id}"; `hub partners list` names '
                                   "them all")
    partners = [partner_id] if partner_id else sorted(_load())
    with context().sessions() as session:
        report = progress_report(session, partners)
    rows = [("ID", "EXPORTED", "DELIVERED", "ACKED", "LAG", "HELD", "LAST BATCH")]
    rows += [(p.partner, str(p.exported_seq), str(p.delivered_seq), str(p.acked_seq),
              str(p.lag), str(p.held_batches), p.last_batch_id or "-") for p in report]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join([*(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(row, widths, strict=False))),
                              row[-1]]))


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def register(cli: FlaskGroup) -> None:
    # Imported here: the module attaches add-key/revoke-key to ``group`` above.
    from hub.commands import partner_keys  # noqa: F401

    cli.add_command(group)
