"""Exports for the sites' evaluations, streamed row by row.

Pseudonymised always: participant codes, never phone numbers, chat ids or names.
Try-out answers (``nsw-feedback chat`` without a participant) are never exported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

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
