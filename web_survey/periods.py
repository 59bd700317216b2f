"""Dates as staff mean them (whole days in the site's time zone) turned into the UTC
periods storage counts in; and the week a digest covers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage.reports import Period

DIGEST_DAYS = 7


def site_zone(config: Mapping[str, Any]) -> ZoneInfo:
    """The time zone staff dates are in (``SITE_TIMEZONE``)."""
    return ZoneInfo(str(config.get("SITE_TIMEZONE") or "Europe/London"))


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def days(first: date, last: date, zone: ZoneInfo) -> Period:
    """From the start of ``first`` to the end of ``last`` (both included) in ``zone``."""
    return Period(day_start(first, zone), day_start(last + timedelta(days=1), zone))


def last_week(now: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The seven whole days before ``now``'s day in ``zone`` (today is not over yet):
    a digest sent on a Monday covers Monday to Sunday just gone."""
    today = now.astimezone(zone).date()
    return today - timedelta(days=DIGEST_DAYS), today - timedelta(days=1)
