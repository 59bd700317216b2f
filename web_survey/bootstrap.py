"""The composition root: build the database, vault, surveys and services once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import twilio_outbound
from bot.service import Conversations, Listening
from bot.service.outreach import Outreach, QuietHours, Route
from bot.service.publishing import Publishing
from content.loader import SurveyLibrary, load_library
from storage.crypto import Vault
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWork

# One line per provider that is not configured, said where the senders are built. Its
# own logger, so commands that send nothing can leave it out (``web_survey.cli.common``).
notices = logging.getLogger("nsw_feedback.providers")
TWILIO_OFF = ("SMS and phone surveys are off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
              "and TWILIO_FROM_NUMBER to turn them on")
WHATSAPP_OFF = ("WhatsApp invitations are off: set TWILIO_WHATSAPP_FROM and "
                "TWILIO_WHATSAPP_TEMPLATE_SID (an approved template) to turn them on")


@dataclass
class Services:
    """What the web app, the bot and the command line share."""

    engine: Engine
    session_factory: sessionmaker[Session]
    vault: Vault
    surveys: SurveyLibrary
    conversations: Conversations
    config: Mapping[str, Any]
    # Who may be contacted, sending invitations and recording what became of them.
    outreach: Outreach
    # A site's own surveys and plan: published, checked and versioned.
    publishing: Publishing
    # Staff playing and writing down recordings.
    listening: Listening

    @property
    def senders(self) -> dict[str, Route]:
        """Channel name -> how outreach sends on it, for each configured channel."""
        return self.outreach.senders

    def uow(self) -> UnitOfWork:
        """A new unit of work over the database."""
        return UnitOfWork(self.session_factory, self.vault)

    def migrate(self) -> None:
        """Bring the database up to date (a no-op when it already is)."""
        upgrade(self.engine)


def bootstrap(config: Mapping[str, Any]) -> Services:
    """Wire the services from ``config``. Survey files are validated here, at start-up."""
    engine = make_engine(config["DATABASE_URL"], int(config.get("DB_POOL_SIZE") or 5),
                         int(config.get("DB_CONNECT_TIMEOUT") or 5))
    session_factory = make_session_factory(engine)
    vault = Vault(config["DATA_KEY"])
    surveys = load_library(config.get("CONTENT_DIR") or None)

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(session_factory, vault)

    conversations = Conversations(uow_factory, surveys)
    outreach = Outreach(conversations, uow_factory, *_senders(config), phrases=surveys)
    publishing = Publishing(uow_factory, conversations.catalogue)
    return Services(engine, session_factory, vault, surveys, conversations, config, outreach,
                    publishing, Listening(uow_factory, conversations.catalogue))


def _senders(config: Mapping[str, Any]) -> tuple[dict[str, Route], QuietHours]:
    """The channels that send (Twilio's sms, voice and whatsapp when configured) and
    quiet hours."""
    if not twilio_outbound.configured(config):
        notices.info(TWILIO_OFF)
        return {}, QuietHours.none()
    try:
        quiet = QuietHours.parse(str(config.get("QUIET_HOURS") or ""),
                                 str(config.get("SITE_TIMEZONE") or ""))
    except ValueError as error:
        notices.error("SMS and phone invitations are off: %s", error)
        return {}, QuietHours.none()
    if not twilio_outbound.whatsapp_configured(config):
        notices.info(WHATSAPP_OFF)
    return twilio_outbound.senders(config), quiet


def services() -> Services:
    """The services of the running app."""
    return current_app.extensions["nsw"]
