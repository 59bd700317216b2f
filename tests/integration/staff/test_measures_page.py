"""The exports page offers the outside measures: the site's own, by code, audited."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.service.measures import Measures
from storage.models import AuditEntry
from web_survey.bootstrap import Services

from .conftest import Staff

PAGE = "/staff/sites/CAL/exports"
HEADER = "participant,measure,period_start,period_end,value\n"


def test_a_lead_downloads_the_sites_measures(nsw: Services, as_cal: Staff,
                                             make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0001", site="CAL", phone="+447700900001")
    make_participant("CAM-0001", site="CAM", phone="+447700900002")
    measures = Measures(nsw.uow)
    measures.import_csv("CAL", HEADER + "CAL-0001,admissions,2026-01-01,2026-03-31,2\n",
                        "cal.csv", "test")
    measures.import_csv("CAM", HEADER + "CAM-0001,admissions,2026-01-01,2026-03-31,5\n",
                        "cam.csv", "test")
    response = as_cal.post(PAGE, data={"fmt": "measures"}, form_page=PAGE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="CAL-all-measures.csv"')
    assert response.get_data().decode("utf-8-sig").splitlines() == [
        HEADER.strip(), "CAL-0001,admissions,2026-01-01,2026-03-31,2"]
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry is not None and entry.detail["format"] == "measures"
        assert entry.detail["rows"] == 1


def test_a_wave_with_the_measures_is_explained(as_cal: Staff) -> None:
    response = as_cal.post(PAGE, data={"fmt": "measures", "wave": "baseline"},
                           form_page=PAGE)
    assert response.status_code == 400
    assert "The measures export covers periods, not waves" in response.get_data(as_text=True)
