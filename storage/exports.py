"""Exports for the sites' evaluations, streamed row by row.

Pseudonymised always: participant codes, never phone numbers, chat ids or names.
Try-out answers (``nsw-feedback chat`` without a participant) are never exported.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Answer, Participant, Response, Site

LONG_COLUMNS = (
    "site", "participant", "respondent_type", "cohort", "who_answered", "wave", "survey",
    "channel", "question_id", "status", "value_code", "value_label", "free_text",
    "recording", "answered_at",
)


def spreadsheet_safe(value: object) -> object:
    """Stop a free-text answer such as ``=HYPERLINK(...)`` running as a formula in Excel."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def long_rows(session: Session, site_code: str, wave: str | None = None,
              batch: int = 2000) -> Iterator[tuple[object, ...]]:
    """One tuple per answer (columns ``LONG_COLUMNS``), fetched in batches."""
    query = (
        select(Site.code, Participant.code, Participant.respondent_type, Participant.cohort,
               Answer.who_answered, Response.wave, Response.survey_id, Answer.channel,
               Answer.question_id, Answer.status, Answer.value_code, Answer.value_label,
               Answer.text, Answer.recording, Answer.answered_at)
        .join(Response, Answer.response_id == Response.id)
        .join(Participant, Response.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .where(Site.code == site_code, Participant.is_tryout.is_(False))
        .order_by(Participant.code, Response.wave, Answer.id)
    )
    if wave:
        query = query.where(Response.wave == wave)
    for row in session.execute(query.execution_options(yield_per=batch)):
        *values, text, recording, answered_at = row
        yield (*values, spreadsheet_safe(text), recording,
               answered_at.isoformat(timespec="seconds") if answered_at else "")


def write_long_csv(session: Session, out: IO[str], site_code: str,
                   wave: str | None = None) -> int:
    """Stream the long CSV to ``out``; return the number of answer rows written."""
    writer = csv.writer(out)
    writer.writerow(LONG_COLUMNS)
    count = 0
    for row in long_rows(session, site_code, wave):
        writer.writerow(row)
        count += 1
    return count


# Format name -> (media type, file extension): what the staff exports page offers.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {"long": ("text/csv", "csv")}
_TEXT, _RECORDING, _WHEN = (LONG_COLUMNS.index(c) for c in ("free_text", "recording",
                                                            "answered_at"))


def write_export(session: Session, surveys: Any, fmt: str, out: BinaryIO, site_code: str,
                 wave: str | None = None, drop_free_text: bool = False,
                 shift_dates: bool = False) -> int:
    """Write ``site_code``'s answers as ``fmt`` to the binary ``out``; return the rows.

    ``drop_free_text`` blanks written and recorded answers; ``shift_dates`` moves each
    participant's dates by their own random 0-364 days, as REDCap does, so intervals
    within a person survive and calendar dates do not.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(LONG_COLUMNS)
    shifts: dict[object, timedelta] = {}
    count = 0
    for row in long_rows(session, site_code, wave):
        values = list(row)
        if drop_free_text:
            values[_TEXT] = values[_RECORDING] = ""
        if shift_dates and values[_WHEN]:
            shift = shifts.setdefault(values[1], timedelta(days=secrets.randbelow(365)))
            when = datetime.fromisoformat(str(values[_WHEN])) - shift
            values[_WHEN] = when.isoformat(timespec="seconds")
        writer.writerow(values)
        count += 1
    text.detach()
    return count
