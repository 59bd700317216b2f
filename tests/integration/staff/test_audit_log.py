"""The audit log page: a site's staff and administrators read it; nobody changes it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from storage.models import AuditEntry
from web_survey.bootstrap import Services

from .conftest import Staff, table_rows

PAGE = "/staff/sites/CAL/audit"


def _line(nsw: Services, action: str, at: datetime, site: str = "CAL", **detail: object
          ) -> None:
    with nsw.uow() as uow:
        uow.session.add(AuditEntry(actor="lead@calderdale.example", action=action,
                                   site_code=site, detail=detail, at=at))
        uow.commit()


def _count(nsw: Services) -> int:
    with nsw.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEntry))


def _rows(staff: Staff, query: str = "") -> list[list[str]]:
    page = staff.get(PAGE + query)
    assert page.status_code == 200, page.get_data(as_text=True)
    return table_rows(page.get_data(as_text=True), "audit-log")[1:]


def test_what_staff_do_on_the_site_is_listed_newest_first_and_other_sites_never(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0001", site="CAL", phone="+447700900001")
    make_participant("CAL-0002", site="CAL", phone="+447700900002")
    make_participant("CAM-0001", site="CAM", phone="+447700900003")
    exported = as_cal.post("/staff/sites/CAL/exports", data={"fmt": "long", "wave": ""},
                           form_page="/staff/sites/CAL/exports")
    assert exported.status_code == 200
    nsw.conversations.opt_out(nsw_id(nsw, "CAL-0002"), True, "sms")
    erased = as_cal.post("/staff/sites/CAL/participants/CAL-0001/erase",
                         form_page="/staff/sites/CAL/participants/CAL-0001/erase")
    assert erased.status_code == 302
    nsw.conversations.opt_out(nsw_id(nsw, "CAM-0001"), True, "sms")
    _line(nsw, "recording_played", datetime.now(UTC), site="CAM", participant="CAM-0001")

    rows = _rows(as_cal)
    assert [row[1] for row in rows] == [
        "Participant erased", "Consent withdrawn: asked us to stop",
        "Data downloaded (export)", "Staff member added"]
    erase, opt_out, export, _ = rows
    assert erase[2:] == ["lead@calderdale.example", "participant: CAL-0001"]
    assert opt_out[2:] == ["sms", "participant: CAL-0002"]
    assert export[3] == ("format: long; wave: all; survey: all; written answers left out: no; "
                         "dates shifted: no; rows: 0")
    page = as_cal.get(PAGE).get_data(as_text=True)
    assert "CAM-0001" not in page and "Recording played" not in page
    assert 'href="/staff/sites/CAL/audit" aria-current="page"' in page


def nsw_id(nsw: Services, code: str) -> int:
    with nsw.uow() as uow:
        return uow.repo.participant(code).id


@pytest.fixture
def lines(nsw: Services, sites: dict[str, int]) -> None:
    """Lines on three days; 23:30 UTC on 31 March is already 1 April in the UK (BST)."""
    _line(nsw, "export", datetime(2026, 3, 30, 9, 0, tzinfo=UTC), format="wide")
    _line(nsw, "erase", datetime(2026, 3, 31, 23, 30, tzinfo=UTC), participant="CAL-0009")
    _line(nsw, "recording_played", datetime(2026, 4, 2, 10, 0, tzinfo=UTC),
          participant="CAL-0003")
    _line(nsw, "interview", datetime(2026, 4, 2, 11, 0, tzinfo=UTC), participant="CAL-0004")


def test_filters_by_date_range_in_the_sites_time_and_by_what_happened(
        as_cal: Staff, lines: None) -> None:
    assert [r[1] for r in _rows(as_cal, "?start=2026-04-01&end=2026-04-01")] == [
        "Participant erased"]
    assert [r[0] for r in _rows(as_cal, "?start=2026-04-01&end=2026-04-01")] == [
        "01 Apr 2026 00:30"]
    assert [r[1] for r in _rows(as_cal, "?start=2026-03-30&end=2026-03-31")] == [
        "Data downloaded (export)"]
    assert [r[1] for r in _rows(as_cal, "?start=2026-04-02")] == [
        "Staff member added", "Interview", "Recording played"]
    assert [r[1] for r in _rows(as_cal, "?end=2026-03-30")] == ["Data downloaded (export)"]
    assert [r[1] for r in _rows(as_cal, "?action=recording_played")] == ["Recording played"]
    assert [r[1] for r in _rows(as_cal, "?action=erase&start=2026-03-30&end=2026-04-30")] == [
        "Participant erased"]
    page = as_cal.get(PAGE + "?action=export&start=2026-04-05").get_data(as_text=True)
    assert "No lines match these choices." in page
    # The choices offered are the actions in this site's log, in words.
    options = re.findall(r'<option[^>]*value="([^"]*)"', as_cal.get(PAGE).get_data(as_text=True))
    assert options == ["", "export", "erase", "interview", "recording_played", "staff_add"]


def test_a_wrong_date_or_range_is_explained_not_guessed(as_cal: Staff, lines: None) -> None:
    backwards = as_cal.get(PAGE + "?start=2026-04-02&end=2026-04-01")
    assert backwards.status_code == 400
    text = backwards.get_data(as_text=True)
    assert "There is a problem" in text and "must be the same as or after" in text
    assert 'id="audit-log"' not in text
    assert as_cal.get(PAGE + "?start=yesterday").status_code == 400
    assert as_cal.get(PAGE + "?action=made-up").status_code == 400


def test_nobody_can_change_the_log_from_the_staff_area(
        nsw: Services, as_cal: Staff, lines: None) -> None:
    before = _count(nsw)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(as_cal.client, method)(PAGE, data={"action": "erase"})
        assert response.status_code == 405, method
    assert _count(nsw) == before
    page = as_cal.get(PAGE).get_data(as_text=True)
    # The only form that posts is the sign-out button; the filters are a GET form.
    posts = re.findall(r'<form[^>]*method="post"[^>]*>', page, re.IGNORECASE)
    assert posts == ['<form method="post" action="/staff/sign-out" class="inline-form">']
    assert re.search(r'<form method="get"', page)


def test_long_logs_come_a_page_at_a_time(nsw: Services, as_cal: Staff) -> None:
    for minute in range(104):  # and the "Staff member added" line: 105 in all
        _line(nsw, "export", datetime(2026, 5, 1, 9, minute % 60, tzinfo=UTC),
              format=f"long-{minute}")
    first = as_cal.get(PAGE + "?action=export").get_data(as_text=True)
    assert len(table_rows(first, "audit-log")) - 1 == 100
    assert "Older lines" in first and "Newer lines" not in first
    second = as_cal.get(PAGE + "?action=export&page=2").get_data(as_text=True)
    assert len(table_rows(second, "audit-log")) - 1 == 4
    assert "Newer lines" in second and "Older lines" not in second


@pytest.mark.parametrize(("who", "site", "admin", "status"), [
    ("lead@camden.example", "CAM", False, 404),
    ("admin@example.org", None, True, 200),
])
def test_only_the_sites_staff_and_administrators_may_read_it(
        nsw: Services, staff: Staff, make_staff: Callable[..., str], lines: None,
        who: str, site: str | None, admin: bool, status: int) -> None:
    staff.sign_in(make_staff(who, site, admin=admin))
    response = staff.get(PAGE)
    assert response.status_code == status
    assert ("CAL-0009" in response.get_data(as_text=True)) == (status == 200)
