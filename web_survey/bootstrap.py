"""The composition root: build the database, vault, surveys and services once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import twilio_outbound
from bot.service import Conversations
from content.loader import SurveyLibrary, load_library
from storage.crypto import Vault
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWork


@dataclass
class Services:
    """What the web app, the bot and the command line share."""

    engine: Engine
    session_factory: sessionmaker[Session]
    vault: Vault
    surveys: SurveyLibrary
    conversations: Conversations
    config: Mapping[str, Any]
    # Channel name -> function that sends one invitation and returns its new status.
    # Filled by each configured channel (see web_survey/delivery.py).
    senders: dict[str, Callable[..., str]] = field(default_factory=dict)

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

    nsw = Services(engine, session_factory, vault, surveys,
                   Conversations(uow_factory, surveys), config)
    nsw.senders.update(twilio_outbound.senders(config))
    return nsw


def services() -> Services:
    """The services of the running app."""
    return current_app.extensions["nsw"]
