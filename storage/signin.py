"""Limiting sign-in attempts to the staff area, per account and per network address.

Attempts are rows in the database, so every web worker sees the same count and a
restart forgives nothing. A person who is locked out is refused before their password
is checked, and that refusal is not counted: the lock ends when the window has passed.

The count cannot be raced: each try is written down (as a failure) and committed
*before* the lock is checked, one writer at a time, so tries are numbered in the order
they were written; a try is then judged on the failures numbered before it. Of many
tries at once, exactly the first ``limit`` reach the password check and every later
one is refused, however they interleave, and the lock holds afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from .models import SignInAttempt, as_utc

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
KEEP = timedelta(days=1)
_WRITING_LOCK = 0x5167_1D17  # PostgreSQL advisory lock held while a try is written


def _lock_end(session: Session, column: InstrumentedAttribute[str], value: str, limit: int,
              now: datetime, since: datetime, mine: int | None) -> datetime | None:
    """When the oldest of the last ``limit`` failures leaves the window, if all are in it."""
    failures = list(session.scalars(
        select(SignInAttempt.at)
        .where(column == value, SignInAttempt.succeeded.is_(False), SignInAttempt.at > since,
               SignInAttempt.id < (mine or 2**62))
        .order_by(SignInAttempt.at.desc()).limit(limit)))
    if len(failures) < limit:
        return None
    return as_utc(failures[-1]) + WINDOW


def locked_until(session: Session, email: str, ip: str, now: datetime,
                 mine: int | None = None) -> datetime | None:
    """The time sign-in opens again for this account or address, or None when it is open.

    An account counts its failures since its last successful sign-in, so a person who
    mistyped a few times and then got in starts afresh. ``mine`` is this try's own row
    (from ``begin_attempt``): only tries written before it count against it.
    """
    since = now - WINDOW
    last_success = session.scalar(
        select(SignInAttempt.at)
        .where(SignInAttempt.email == email, SignInAttempt.succeeded.is_(True))
        .order_by(SignInAttempt.at.desc()).limit(1))
    account_since = max(since, as_utc(last_success)) if last_success else since
    ends = [end for end in (
        _lock_end(session, SignInAttempt.email, email, MAX_PER_ACCOUNT, now, account_since,
                  mine),
        _lock_end(session, SignInAttempt.ip, ip, MAX_PER_ADDRESS, now, since, mine),
    ) if end is not None and end > now]
    return max(ends) if ends else None


def begin_attempt(session: Session, email: str, ip: str, now: datetime) -> int:
    """Write down one try as a failure (commit it before checking the lock) and forget
    tries older than a day; return the try's id."""
    if session.get_bind().dialect.name == "postgresql":
        # One writer at a time (SQLite's write lock does this by itself), so the ids
        # follow the order of commits and every earlier try is visible to a later one.
        session.execute(select(func.pg_advisory_xact_lock(_WRITING_LOCK)))
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KEEP))
    attempt = SignInAttempt(email=email, ip=ip, succeeded=False, at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def refuse_attempt(session: Session, attempt: int) -> None:
    """A try refused by the lock is not counted, so the lock can end."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt))


def attempt_succeeded(session: Session, attempt: int) -> None:
    """The password was right: the try counts as a success, forgiving earlier ones."""
    session.execute(update(SignInAttempt).where(SignInAttempt.id == attempt)
                    .values(succeeded=True))
