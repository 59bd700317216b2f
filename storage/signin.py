"""Limiting sign-in attempts to the staff area, per account and per network address.

Attempts are rows in the database, so every web worker sees the same count and a
restart forgives nothing. A person who is locked out is refused before their password
is checked, and that refusal is not counted: the lock ends when the window has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from .models import SignInAttempt, as_utc

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
KEEP = timedelta(days=1)


def _lock_end(session: Session, column: InstrumentedAttribute[str], value: str, limit: int,
              now: datetime, since: datetime) -> datetime | None:
    """When the oldest of the last ``limit`` failures leaves the window, if all are in it."""
    failures = list(session.scalars(
        select(SignInAttempt.at)
        .where(column == value, SignInAttempt.succeeded.is_(False), SignInAttempt.at > since)
        .order_by(SignInAttempt.at.desc()).limit(limit)))
    if len(failures) < limit:
        return None
    return as_utc(failures[-1]) + WINDOW


def locked_until(session: Session, email: str, ip: str, now: datetime) -> datetime | None:
    """The time sign-in opens again for this account or address, or None when it is open.

    An account counts its failures since its last successful sign-in, so a person who
    mistyped a few times and then got in starts afresh.
    """
    since = now - WINDOW
    last_success = session.scalar(
        select(SignInAttempt.at)
        .where(SignInAttempt.email == email, SignInAttempt.succeeded.is_(True))
        .order_by(SignInAttempt.at.desc()).limit(1))
    account_since = max(since, as_utc(last_success)) if last_success else since
    ends = [end for end in (
        _lock_end(session, SignInAttempt.email, email, MAX_PER_ACCOUNT, now, account_since),
        _lock_end(session, SignInAttempt.ip, ip, MAX_PER_ADDRESS, now, since),
    ) if end is not None and end > now]
    return max(ends) if ends else None


def record_attempt(session: Session, email: str, ip: str, succeeded: bool,
                   now: datetime) -> None:
    """Remember one attempt, and forget attempts older than a day."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KEEP))
    session.add(SignInAttempt(email=email, ip=ip, succeeded=succeeded, at=now))
