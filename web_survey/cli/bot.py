"""``nsw-feedback bot [--webhook]``: run the Telegram bot, or point Telegram at the web app."""

from __future__ import annotations

import logging

import click
from telegram.error import TelegramError

from bot.channels.telegram import DISABLED, build_application, poll, set_webhook, telegram_enabled

from .common import make_app, services

log = logging.getLogger(__name__)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--webhook", is_flag=True,
                  help="Tell Telegram to post updates to PUBLIC_BASE_URL/telegram/webhook "
                       "(served by the web app), then exit.")
    def bot(webhook: bool) -> None:
        """Run the Telegram bot by long polling (for the demo and small sites)."""
        # Quiet while the app is built: this command says itself when Telegram is off.
        app = make_app()
        config = app.config
        if not telegram_enabled(config):
            log.warning(DISABLED)
            return
        nsw = services(app)
        application = build_application(nsw.config, nsw.conversations, polling=not webhook)
        if not webhook:
            click.echo("Telegram bot running (polling). Press Ctrl-C to stop.", err=True)
            poll(application)
            return
        secret = config.get("TELEGRAM_WEBHOOK_SECRET") or ""
        if not secret:
            raise click.ClickException("set TELEGRAM_WEBHOOK_SECRET first (letters, digits, _ "
                                       "and -): the web app refuses updates without it")
        url = f"{config['PUBLIC_BASE_URL']}/telegram/webhook"
        try:
            set_webhook(application, url, secret)
        except TelegramError as error:
            raise click.ClickException(f"Telegram refused the webhook: {error}") from error
        click.echo(f"Telegram will post updates to {url}")
