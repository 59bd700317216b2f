"""``nsw-feedback invite``: create invitations for a wave and print each link."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import click
from telegram.error import TelegramError

from bot.channels.telegram import bot_username
from bot.engine import WAVES
from storage.invitations import invite_wave
from storage.models import Invitation

from ..delivery import invitation_link, telegram_link
from .common import make_app, services, site_or_fail

CHANNELS = ("web", "telegram")


def _linker(config: Mapping[str, Any], channel: str) -> Callable[[Invitation], str | None]:
    """How to print an invitation on ``channel``: a web link, or a Telegram deep link
    (the bot's username from TELEGRAM_BOT_USERNAME, else asked of Telegram)."""
    if channel != "telegram":
        return partial(invitation_link, config)
    try:
        username = bot_username(config)
    except TelegramError as error:
        raise click.ClickException(f"cannot ask Telegram for the bot's name: {error}") from error
    if not username:
        raise click.ClickException("set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) "
                                   "to make Telegram links")
    return partial(telegram_link, {**config, "TELEGRAM_BOT_USERNAME": username})


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
        link = _linker(app.config, channel)
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            outcome = invite_wave(uow.repo, site, wave, channel, code or None)
            for person, reason in outcome.skipped:
                click.echo(f"{person}\tskipped: {reason}", err=True)
            for invitation in outcome.invitations:
                click.echo(f"{invitation.participant.code}\t{link(invitation)}")
            if dry_run:
                uow.rollback()
                click.echo("(dry run: nothing was saved)", err=True)
                return
            uow.repo.audit("cli", "invite", site.code, wave=wave, channel=channel,
                           count=len(outcome.invitations))
            uow.commit()
