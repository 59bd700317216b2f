"""Database engines and sessions, built by the app factory and never at import."""

from __future__ import annotations

import os
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Let ``postgres://`` and ``postgresql://`` (as hosts hand them out) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, pool_size: int = 5, connect_timeout: int = 5) -> Engine:
    """An engine for ``url``: SQLite tuned for a small site, PostgreSQL with a checked pool.

    PostgreSQL connections are pinged when taken from the pool, so a database restart
    costs the app nothing but a reconnect. The pool holds ``pool_size`` connections and
    lends up to twice as many again under a burst. After a fork the child starts with
    an empty pool (see ``_forget_pool_after_fork``).

    While the database is away a new connection gives up after ``connect_timeout``
    seconds, and a request waits at most as long for a pooled one, so a webhook is
    answered 503 quickly. Errors and logs never show statement parameters (tokens,
    answers, phone numbers): ``hide_parameters``.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": pool_size,
                                   "max_overflow": pool_size * 2, "pool_recycle": 1800,
                                   "pool_timeout": connect_timeout * 2,
                                   "hide_parameters": True,
                                   "connect_args": {"connect_timeout": connect_timeout}}
        engine = create_engine(url, **options)
    _forget_pool_after_fork(engine)
    return engine


def _forget_pool_after_fork(engine: Engine) -> None:
    """Give a forked child (a gunicorn or RQ worker) a pool of its own.

    Two processes talking over one inherited database socket corrupt each other's
    conversations. The child drops the inherited connections without closing them
    (closing would end the parent's sessions too) and opens its own when it needs one.
    """
    ref = weakref.ref(engine)

    def after_fork() -> None:
        inherited = ref()
        if inherited is not None:
            inherited.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets the web app and the bot read while one of them writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted rows (an erased person's answers) are overwritten with zeros, not left
    # readable in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
