"""``nsw-feedback invite``: invite a wave, then print each link or send each message."""

from __future__ import annotations

import click

from bot.channel_table import ENROLLED
from bot.service.reach import NotForThem, respondent_types
from web_survey.delivery import LINK_CHANNELS, NO_LINK, ChannelUnavailable, link_for
from web_survey.sending import UnknownTimepoint, make_wave, send_wave

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
    @click.option("--type", "types", multiple=True, metavar="TYPE",
                  help="Only people of this respondent type: individual, family or "
                       "professional (repeat it, or list them: individual,family). "
                       "Default: everyone the timepoint is for (its plan's for:).")
    @click.option("--participant", "code", default="", help="Only this participant.")
    @click.option("--dry-run", is_flag=True, help="Show who would be invited; change nothing.")
    def invite(site_code: str, wave: str, channel: str | None, types: tuple[str, ...],
               code: str, dry_run: bool) -> None:
        """Invite a site's participants to answer a wave.

        Each is invited on their own channel (the one they prefer) unless --channel
        forces one. Web and Telegram invitations are printed as links (paste them into an email, or
        print them as QR codes from the staff pages); sms, whatsapp and voice ones are sent
        at once (a text, a WhatsApp message or a phone call), each printed with how the
        send went. People who cannot be reached on their own channel are listed with why,
        and so are people left out because the timepoint (or --type) is not for them.
        """
        try:
            chosen = respondent_types(types)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--type") from error
        app = make_app(providers=providers_for(channel) if channel else ALL_PROVIDERS)
        nsw = services(app)
        config = app.config
        if channel in (None, "telegram"):
            name_the_bot(app, required=channel == "telegram")
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            try:
                if dry_run:
                    outcome, who = make_wave(nsw, uow, site, wave, channel, code or None,
                                             chosen)
                    skipped, notes, made = outcome.skipped, outcome.notes, outcome.invitations
                    left_out = [(person, who.reason) for person in outcome.left_out]
                else:
                    report = send_wave(nsw, uow, site, wave, channel, "cli", code or None,
                                       chosen)
                    skipped, notes, made = report.skipped, report.notes, report.sent
                    left_out = report.left_out
            except (ChannelUnavailable, UnknownTimepoint, NotForThem) as error:
                raise click.ClickException(str(error)) from error
            for person, reason in [*left_out, *skipped]:
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
