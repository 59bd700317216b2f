"""The exports page: a download per format, pseudonymised, every download audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import select

from bot.engine import Event
from storage.exports import EXPORT_FORMATS
from storage.models import AuditEntry
from web_survey.bootstrap import Services

from .conftest import Staff

PAGE = "/staff/sites/CAL/exports"


def test_the_page_offers_every_format_there_is(as_cal: Staff) -> None:
    page = as_cal.get(PAGE).get_data(as_text=True)
    for name in EXPORT_FORMATS:
        assert f'value="{name}"' in page
    assert "Leave out written and recorded answers" in page


def test_a_download_is_the_sites_answers_without_contacts_and_is_audited(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    for code, phone in (("CAL-0001", "+447700900001"), ("CAM-0001", "+447700900002")):
        pid = make_participant(code, site=code[:3], phone=phone)
        for event in (Event("start"), Event("text", "yes"), Event("text", "1"),
                      Event("text", "yes"), Event("text", "yes")):
            nsw.conversations.handle(pid, "sms", event)
    response = as_cal.post(PAGE, data={"fmt": "long", "wave": "baseline",
                                       "drop_free_text": "y"}, form_page=PAGE)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="CAL-all-long-baseline.csv"')
    body = response.get_data()
    assert b"+4477009" not in body and b"7700900001" not in body
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {row["participant"] for row in rows} == {"CAL-0001"}
    assert {(row["question_id"], row["value_label"]) for row in rows} == {
        ("who", "Me on my own"), ("know_sw", "Yes")}
    assert all(row["who_answered"] == "self" for row in rows)
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry is not None
        assert (entry.actor, entry.site_code) == ("lead@calderdale.example", "CAL")
        assert entry.detail == {"format": "long", "wave": "baseline", "survey": "all",
                                "drop_free_text": True, "shift_dates": False, "rows": 2}


def test_an_unknown_format_is_refused_and_nothing_is_audited(nsw: Services,
                                                             as_cal: Staff) -> None:
    response = as_cal.post(PAGE, data={"fmt": "pdf"}, form_page=PAGE)
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)
    with nsw.uow() as uow:
        assert uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "export")) is None
