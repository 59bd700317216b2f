"""Alembic environment: the URL comes from the app's configuration, not an ini file."""

from alembic import context
from sqlalchemy import Connection

from storage.db import make_engine
from storage.migrate import foreign_keys_paused
from storage.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set in the Alembic configuration")
    engine = make_engine(url)
    with engine.connect() as connection, foreign_keys_paused(connection):
        _run(connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    # Batch mode lets later migrations alter columns on SQLite too.
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
