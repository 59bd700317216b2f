"""Run Alembic migrations from code (``nsw-feedback db upgrade`` and the release step)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from .db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at this package's migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` up to ``revision``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection, foreign_keys_paused(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def foreign_keys_paused(connection: Connection) -> Iterator[Connection]:
    """Run migrations on ``connection`` in one transaction, committed at the end.

    SQLite changes a table by rebuilding it (copy, drop, rename): while it does, rows
    other tables point at are briefly gone, and with foreign keys enforced the drop
    fails. So on SQLite the checks pause (the pragma only works outside a transaction)
    and ``foreign_key_check`` proves every reference whole before the commit.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            yield connection
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
