"""``nsw-feedback invite``: invite a wave, then print each link or send each message."""

from __future__ import annotations

import click

from bot.channel_table import ENROLLED
from storage.invitations import invite_wave
from web_survey.delivery import LINK_CHANNELS, NO_LINK, ChannelUnavailable, link_for
from web_survey.sending import UnknownTimepoint, chooser, plan_with, send_wave

from .common import ALL_PROVIDERS, make_app, name_the_bot, providers_for, services, site_or_fail

# The link channels first: they need no provider to be configured.
CHANNELS = sorted(ENROLLED, key=lambda name: name not in LINK_CHANNELS)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--wave", required=True, metavar="TIMEPOINT",
                  help="A timepoint of the site's plan: baseline, exit, or its own.")
    @click.option("--channel", type=click.Choice(CHANNELS), default=None,
                  help="Invite everyone on this channel (default: each person's own).")
    @click.option("--participant", "code", default="", help="Only this participant.")
    @click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
    def invite(site_code: str, wave: str, channel: str | None, code: str,
               dry_run: bool) -> None:
        """Invite a site's participants to answer a wave.

        Each is invited on their own channel (the one they prefer) unless --channel
        forces one. Web and Telegram invitations are printed as links (paste them into an email, or
        print them as QR codes from the staff pages); sms, whatsapp and voice ones are sent
        at once (a text, a WhatsApp message or a phone call), each printed with how the
        send went. People who cannot be reached on their own channel are listed with why.
        """
        app = make_app(providers=providers_for(channel) if channel else ALL_PROVIDERS)
        nsw = services(app)
        config = app.config
        if channel in (None, "telegram"):
            name_the_bot(app, required=channel == "telegram")
        with nsw.uow() as uow:
            try:
                choose = chooser(nsw, uow, channel)
            except ChannelUnavailable as error:
                raise click.ClickException(str(error)) from error
            site = site_or_fail(uow.repo, site_code)
            try:
                plan = plan_with(nsw, uow, site, wave)
            except UnknownTimepoint as error:
                raise click.ClickException(str(error)) from error
            if dry_run:
                outcome = invite_wave(uow.repo, site, wave, choose, code or None, plan.names,
                                      bool(plan.timepoint(wave).every_days))
                skipped, notes, made = outcome.skipped, outcome.notes, outcome.invitations
            else:
                report = send_wave(nsw, uow, site, wave, channel, "cli", code or None)
                skipped, notes, made = report.skipped, report.notes, report.sent
            for person, reason in skipped:
                click.echo(f"{person}\tskipped: {reason}", err=True)
            for person, note in notes:
                click.echo(f"{person}\t{note}", err=True)
            for invitation in made:
                used = invitation.channel
                if used in LINK_CHANNELS:
                    shown = link_for(config, invitation) or NO_LINK
                    shown = shown if channel else f"{used}: {shown}"
                else:
                    shown = (f"would be sent by {used}" if dry_run
                             else f"{used}: {invitation.status}")
                click.echo(f"{invitation.participant.code}\t{shown}")
            if dry_run:
                uow.rollback()
                click.echo("(dry run: nothing was saved or sent)", err=True)
                return
            held = sum(invitation.status == "held" for invitation in made)
        if held:
            click.echo(f"{held} held: no texts or calls in quiet hours "
                       f"({app.config['QUIET_HOURS']}, {app.config['SITE_TIMEZONE']}). "
                       "They go out when quiet hours end: the worker sends them, or "
                       "run `nsw-feedback tick` then.", err=True)
