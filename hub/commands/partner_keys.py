"""``hub partners add-key|revoke-key|keys``: the partners' registered API keys."""

from __future__ import annotations

from pathlib import Path

import click

from hub.commands.common import cli_actor, context, utcnow
from hub.commands.partners import group
from hub.config.partners import load_partners
from hub.db.engine import session_scope
from hub.errors import HubError
from hub.partners.model import PartnerConfigError
from hub.services import partner_keys


@group.command("add-key", help="Register a partner's public key (PEM, Ed25519 or P-256); "
                               "prints its kid.")
@click.argument("partner_id", metavar="ID")
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def add_key_cmd(partner_id: str, pem_file: Path) -> None:
    ctx = context()
    try:
        known = load_partners(ctx.settings.partners_path, ctx.settings.instance_path)
    except PartnerConfigError as exc:
        raise click.ClickException(f"partner configuration is invalid: {exc}") from exc
    try:
        with session_scope(ctx.sessions) as session:
            key = partner_keys.add_key(session, partner_id, pem_file.read_bytes(),
                                       known_partners=known.keys(), actor=cli_actor(),
                                       now=utcnow(), expected_algorithm=(
                                           known[partner_id].api.algorithm
                                           if partner_id in known else None))
            kid = key.kid
    except (HubError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(kid)


@group.command("revoke-key", help="Revoke a partner key: its tokens fail from now on.",
               # A kid is base64url and may begin with "-": take it as the argument.
               context_settings={"ignore_unknown_options": True})
@click.argument("kid")
def revoke_key_cmd(kid: str) -> None:
    try:
        with session_scope(context().sessions) as session:
            key = partner_keys.revoke_key(session, kid, actor=cli_actor(), now=utcnow())
            partner = key.partner
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key {kid} of partner {partner} revoked")


@group.command("keys", help="List a partner's registered API keys (kid, algorithm, added, "
                            "revoked), oldest first.")
@click.argument("partner_id", metavar="ID")
def keys_cmd(partner_id: str) -> None:
    with context().sessions() as session:
        keys = partner_keys.partner_keys(session, partner_id)
    if not keys:
        click.echo(f"no key registered for partner {partner_id}")
        return
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(f"{key.kid}  {key.algorithm:<6}  added {key.created_at:%Y-%m-%d %H:%M}  "
                   f"{state}")
