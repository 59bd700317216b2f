"""What every command shares: building the app once and opening a unit of work."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from bot.channel_table import CHANNELS
from content.loader import ContentError
from storage.models import Site
from storage.uow import Repository
from web_survey import create_app

if TYPE_CHECKING:
    from flask import Flask

    from web_survey.bootstrap import Services

# The loggers that say, while the app is built, that a provider is not configured
# ("SMS and phone surveys are off…", "Telegram is off…"). A command hears them only
# for the providers it uses. bot.service.outreach is where the outreach work may move
# the Twilio line; tests/integration/test_cli_startup.py fails if a line escapes.
PROVIDER_LOGGERS = {
    "twilio": ("nsw_feedback.providers", "bot.channels.twilio_outbound", "bot.service.outreach"),
    "telegram": ("web_survey.telegram_routes",),
}
ALL_PROVIDERS = tuple(PROVIDER_LOGGERS)


def providers_for(channel: str) -> tuple[str, ...]:
    """The provider a channel sends through (the channel table's row says), if any."""
    row = CHANNELS.get(channel)
    return (row.provider,) if row is not None and row.provider else ()


@contextmanager
def quiet(names: Collection[str]) -> Iterator[None]:
    """Only errors from the loggers ``names`` while the block runs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def make_app(migrate: bool = True, providers: Collection[str] = ()) -> Flask:
    """The app, with its database brought up to date; content errors end the command.

    ``providers`` names those the command uses ("twilio", "telegram"): only they say
    so when they are not configured.
    """
    unused = [name for provider, names in PROVIDER_LOGGERS.items()
              if provider not in providers for name in names]
    try:
        with quiet(unused):
            app = create_app()
    except ContentError as error:
        raise click.ClickException(f"a survey file is wrong: {error}") from error
    if migrate:
        app.extensions["nsw"].migrate()
    context = click.get_current_context(silent=True)
    if context is not None:
        # Close the pool when the command ends rather than leave connections to the GC.
        context.call_on_close(app.extensions["nsw"].engine.dispose)
    return app


def services(app: Flask) -> Services:
    nsw: Services = app.extensions["nsw"]
    return nsw


def name_the_bot(app: Flask, required: bool) -> None:
    """Put the Telegram bot's name in ``app.config`` (asked of Telegram when only its
    token is set), so Telegram invitations get their t.me links.

    When Telegram cannot be asked, a command that must invite on Telegram (``required``)
    ends with the reason; any other says so once and goes on without Telegram links.
    """
    from telegram.error import TelegramError

    from bot.channels.telegram import bot_username

    try:
        app.config["TELEGRAM_BOT_USERNAME"] = bot_username(app.config) or ""
    except TelegramError as error:
        if required:
            raise click.ClickException(f"cannot ask Telegram for the bot's name: "
                                       f"{error}") from error
        click.echo(f"cannot ask Telegram for the bot's name ({error}): no Telegram "
                   "invitation links this time", err=True)


def site_or_fail(repo: Repository, code: str) -> Site:
    """The site with ``code``, or a clear error naming it."""
    site = repo.site(code.upper())
    if site is None:
        raise click.ClickException(f"there is no site {code!r} (add it: nsw-feedback site add)")
    return site
