"""``nsw-feedback invite``: create invitations for a wave, then print or send each one."""

from __future__ import annotations

import click

from bot.engine import WAVES
from storage.invitations import invite_wave
from web_survey.bootstrap import Services
from web_survey.delivery import SETTINGS_NEEDED, deliver

from .common import make_app, services, site_or_fail

CHANNELS = ("web", "sms", "voice")


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--wave", type=click.Choice(WAVES), required=True)
    @click.option("--channel", type=click.Choice(CHANNELS), required=True)
    @click.option("--participant", "code", default="", help="Only this participant.")
    @click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
    def invite(site_code: str, wave: str, channel: str, code: str, dry_run: bool) -> None:
        """Invite a site's participants to answer a wave.

        Web invitations are printed as links; sms and voice ones are sent at once
        (a text, or a phone call), each printed with how the send went.
        """
        app = make_app()
        nsw = services(app)
        base = app.config["PUBLIC_BASE_URL"]
        if channel != "web" and channel not in nsw.senders:
            raise click.ClickException(
                f"{channel} is not configured: set {SETTINGS_NEEDED[channel]}")
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            outcome = invite_wave(uow.repo, site, wave, channel, code or None)
            for person, reason in outcome.skipped:
                click.echo(f"{person}\tskipped: {reason}", err=True)
            tokens = [invitation.token for invitation in outcome.invitations]
            for invitation in outcome.invitations:
                if channel == "web":
                    click.echo(f"{invitation.participant.code}\t{base}/s/{invitation.token}")
                elif dry_run:
                    click.echo(f"{invitation.participant.code}\twould be sent by {channel}")
            if dry_run:
                uow.rollback()
                click.echo("(dry run: nothing was saved or sent)", err=True)
                return
            uow.repo.audit("cli", "invite", site.code, wave=wave, channel=channel,
                           count=len(outcome.invitations))
            uow.commit()
        if channel != "web":
            _send(nsw, tokens, app.config["QUIET_HOURS"], app.config["SITE_TIMEZONE"])


def _send(nsw: Services, tokens: list[str], quiet: str, zone: str) -> None:
    """Send each invitation in its own transaction, so one failure spoils no other."""
    held = 0
    for token in tokens:
        with nsw.uow() as uow:
            invitation = uow.repo.invitation(token)
            status = deliver(nsw, invitation)
            uow.commit()
            click.echo(f"{invitation.participant.code}\t{invitation.channel}: {status}")
            held += status == "held"
    if held:
        click.echo(f"{held} held: no texts or calls in quiet hours ({quiet}, {zone}). "
                   "Run the command again later.", err=True)
