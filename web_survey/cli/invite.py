"""``nsw-feedback invite``: create invitations for a wave and print each link."""

from __future__ import annotations

import click

from bot.engine import WAVES
from storage.invitations import invite_wave

from .common import make_app, services, site_or_fail

CHANNELS = ("web",)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--wave", type=click.Choice(WAVES), required=True)
    @click.option("--channel", type=click.Choice(CHANNELS), required=True)
    @click.option("--participant", "code", default="", help="Only this participant.")
    @click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
    def invite(site_code: str, wave: str, channel: str, code: str, dry_run: bool) -> None:
        """Invite a site's participants to answer a wave, and print each link."""
        app = make_app()
        base = app.config["PUBLIC_BASE_URL"]
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            outcome = invite_wave(uow.repo, site, wave, channel, code or None)
            for person, reason in outcome.skipped:
                click.echo(f"{person}\tskipped: {reason}", err=True)
            for invitation in outcome.invitations:
                click.echo(f"{invitation.participant.code}\t{base}/s/{invitation.token}")
            if dry_run:
                uow.rollback()
                click.echo("(dry run: nothing was saved)", err=True)
                return
            uow.repo.audit("cli", "invite", site.code, wave=wave, channel=channel,
                           count=len(outcome.invitations))
            uow.commit()
