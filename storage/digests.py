"""Claiming a site's weekly digest, so it is emailed once whoever runs it.

Two workers' schedules, or a retried job, may run the weekly digest at once. Before
emailing, a run claims (site, week) in ``digest_sends``: an INSERT that the unique
constraint lets only one run make. A run that dies between claiming and sending leaves
a claim with no ``sent_at``; after ``STALE`` another run takes it over. A claim whose
mail server refused the mail is given up, so the next run tries again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from .models import Base

STALE = timedelta(minutes=15)  # far longer than emailing one site's staff takes
_sends: Table = Base.metadata.tables["digest_sends"]
# RETURNING says whether the row went in: psycopg gives no rowcount for DO NOTHING.
_INSERT = {"postgresql": postgresql.insert(_sends).on_conflict_do_nothing()
           .returning(_sends.c.id),
           "sqlite": sqlite.insert(_sends).on_conflict_do_nothing().returning(_sends.c.id)}


def _this(site_id: int, week: date) -> tuple[ColumnElement[bool], ...]:
    return (_sends.c.site_id == site_id, _sends.c.week == week)


def claim(connection: Connection, site_id: int, week: date, now: datetime) -> bool:
    """True when this run is the one to send ``site_id``'s digest for ``week``: it made
    the claim, or took over one left unsent for longer than ``STALE``. The caller
    commits before emailing, so other runs see the claim."""
    made = connection.execute(_INSERT[connection.dialect.name],
                              {"site_id": site_id, "week": week, "claimed_at": now})
    if made.first() is not None:
        return True
    taken = connection.execute(
        update(_sends).where(*_this(site_id, week), _sends.c.sent_at.is_(None),
                             _sends.c.claimed_at < now - STALE).values(claimed_at=now))
    return taken.rowcount == 1


def mark_sent(connection: Connection, site_id: int, week: date, now: datetime) -> None:
    """Record that the claimed digest went out."""
    connection.execute(update(_sends).where(*_this(site_id, week)).values(sent_at=now))


def give_up(connection: Connection, site_id: int, week: date) -> None:
    """Drop an unsent claim, so the next run tries this site's digest again."""
    connection.execute(delete(_sends).where(*_this(site_id, week), _sends.c.sent_at.is_(None)))
