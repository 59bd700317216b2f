"""``nsw-feedback invite``: invite a wave, then print each link or send each message."""

from __future__ import annotations

import click
from telegram.error import TelegramError

from bot.channel_table import ENROLLED
from bot.channels.telegram import bot_username
from storage.invitations import invite_wave
from web_survey.delivery import LINK_CHANNELS, ChannelUnavailable, check_channel, link_for
from web_survey.sending import UnknownTimepoint, send_wave, timepoints

from .common import make_app, providers_for, services, site_or_fail

# The link channels first: they need no provider to be configured.
CHANNELS = sorted(ENROLLED, key=lambda name: name not in LINK_CHANNELS)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--wave", required=True, metavar="TIMEPOINT",
                  help="A timepoint of the site's plan: baseline, exit, or its own.")
    @click.option("--channel", type=click.Choice(CHANNELS), required=True)
    @click.option("--participant", "code", default="", help="Only this participant.")
    @click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
    def invite(site_code: str, wave: str, channel: str, code: str, dry_run: bool) -> None:
        """Invite a site's participants to answer a wave.

        Web and Telegram invitations are printed as links (paste them into an email, or
        print them as QR codes from the staff pages); sms and voice ones are sent at
        once (a text, or a phone call), each printed with how the send went.
        """
        app = make_app(providers=providers_for(channel))
        nsw = services(app)
        config = dict(app.config)
        if channel == "telegram":
            try:
                config["TELEGRAM_BOT_USERNAME"] = bot_username(config) or ""
            except TelegramError as error:
                raise click.ClickException(f"cannot ask Telegram for the bot's name: "
                                           f"{error}") from error
        try:
            check_channel(nsw, channel)
        except ChannelUnavailable as error:
            raise click.ClickException(str(error)) from error
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            try:
                order = timepoints(nsw, uow, site, wave)
            except UnknownTimepoint as error:
                raise click.ClickException(str(error)) from error
            if dry_run:
                outcome = invite_wave(uow.repo, site, wave, channel, code or None, order)
                skipped, made = outcome.skipped, outcome.invitations
            else:
                report = send_wave(nsw, uow, site, wave, channel, "cli", code or None)
                skipped, made = report.skipped, report.sent
            for person, reason in skipped:
                click.echo(f"{person}\tskipped: {reason}", err=True)
            for invitation in made:
                if channel in LINK_CHANNELS:
                    shown = link_for(config, invitation)
                else:
                    shown = (f"would be sent by {channel}" if dry_run
                             else f"{channel}: {invitation.status}")
                click.echo(f"{invitation.participant.code}\t{shown}")
            if dry_run:
                uow.rollback()
                click.echo("(dry run: nothing was saved or sent)", err=True)
                return
            held = sum(invitation.status == "held" for invitation in made)
        if held:
            click.echo(f"{held} held: no texts or calls in quiet hours "
                       f"({app.config['QUIET_HOURS']}, {app.config['SITE_TIMEZONE']}). "
                       "Run the command again later.", err=True)
