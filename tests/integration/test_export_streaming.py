"""The long export reads rows straight from the driver: the same times, whatever the
database session's time zone, and a download stopped half-way harms nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.engine import Event
from storage.exports import write_export
from storage.exports.records import Scope, long_rows
from storage.models import Answer

WHEN = datetime(2025, 6, 1, 23, 30, 5, 123456, tzinfo=UTC)


def answered(nsw, make_participant, people: int = 1) -> None:
    for n in range(people):
        pid = make_participant(code=f"CAL-{n + 1:04d}", phone=f"+44770090{n + 1:04d}")
        for event in (Event("start"), Event("text", "yes"), Event("text", "1"),
                      Event("text", "yes"), Event("text", "yes")):
            nsw.conversations.handle(pid, "sms", event)
    with nsw.uow() as uow:
        uow.session.execute(update(Answer).values(answered_at=WHEN))
        uow.commit()


def long_csv(nsw, shift_dates: bool = False, zone: str | None = None) -> list[dict]:
    out = io.BytesIO()
    with nsw.uow() as uow:
        if zone and uow.session.get_bind().dialect.name == "postgresql":
            uow.session.execute(text(f"SET TIME ZONE '{zone}'"))
        write_export(uow.session, nsw.surveys, "long", out, "CAL", shift_dates=shift_dates,
                     vault=nsw.vault)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def test_answer_times_are_utc_seconds_whatever_the_session_zone(nsw, make_participant):
    answered(nsw, make_participant)
    for zone in (None, "Asia/Kolkata", "America/New_York"):
        rows = long_csv(nsw, zone=zone)
        assert [r["question_id"] for r in rows] == ["who", "know_sw"]
        assert {r["answered_at"] for r in rows} == {"2025-06-01 23:30:05"}
    shifted = long_csv(nsw, shift_dates=True, zone="Asia/Kolkata")
    moved = WHEN - timedelta(days=nsw.vault.date_shift_days("CAL-0001"))
    assert {r["answered_at"] for r in shifted} == {moved.strftime("%Y-%m-%d %H:%M:%S")}


def test_a_long_export_stopped_half_way_leaves_the_connection_usable(nsw, make_participant):
    answered(nsw, make_participant, people=3)
    with nsw.uow() as uow:
        rows = long_rows(uow.session, Scope("CAL"), batch=2)
        assert next(rows)[1] == "CAL-0001"
        rows.close()
        assert uow.session.scalar(select(text("1"))) == 1
        uow.repo.audit("test", "export", "CAL", rows=1)
        uow.commit()
    assert len(long_csv(nsw)) == 6


def test_an_older_libpq_streams_row_by_row_to_the_same_file(nsw, make_participant,
                                                            monkeypatch):
    if nsw.engine.dialect.driver != "psycopg":
        pytest.skip("psycopg streaming is used on PostgreSQL only")
    import psycopg

    answered(nsw, make_participant, people=2)
    chunked = long_csv(nsw)
    monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda: False)
    assert long_csv(nsw) == chunked and len(chunked) == 4
