"""A person's timeline on their page, and exports chosen by the site's own timepoints."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import AuditEntry
from web_survey.bootstrap import Services

from ..plan_data import Writer, content_folder, evaluated_site
from .conftest import Staff, table_rows

EXPORTS = "/staff/sites/CAL/exports"


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_config, "CONTENT_DIR": str(content_folder(tmp_path))}


@pytest.fixture
def site(nsw: Services, sites: dict[str, int], tmp_path: Path) -> Writer:
    return evaluated_site(nsw, tmp_path)


def test_the_participant_page_shows_their_timeline(as_cal: Staff, site: Writer) -> None:
    page = as_cal.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    rows = table_rows(page, "timepoints")
    assert [row[0] for row in rows[1:]] == ["baseline", "3-month", "exit", "pulse"]
    assert [row[3] for row in rows[1:]] == ["Completed", "Completed", "Completed",
                                            "Not started"]
    assert "Journal and story entries (2)" in page
    assert "CAL-0001 answers about: themselves only." in page
    assert ('href="/staff/sites/CAL/participants/CAL-0003">CAL-0003</a> '
            "(Family member or carer)") in page
    professional = as_cal.get("/staff/sites/CAL/participants/CAL-0005").get_data(
        as_text=True)
    pulses = [row for row in table_rows(professional, "timepoints") if row[0] == "pulse"]
    assert [(row[1], row[2]) for row in pulses] == [("1", "CAL-0001"), ("2", "CAL-0001")]


def test_exports_page_offers_the_plans_timepoints_and_pairs_any_two(
        nsw: Services, as_cal: Staff, site: Writer) -> None:
    page = as_cal.get(EXPORTS).get_data(as_text=True)
    for value in ("3-month", "pulse", "journal", "trajectory", "entries", "events"):
        assert f'value="{value}"' in page
    response = as_cal.post(EXPORTS, data={"fmt": "paired", "survey": "individual",
                                          "start": "baseline", "end": "3-month"},
                           form_page=EXPORTS)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="CAL-individual-paired-baseline-to-3-month.csv"')
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert (rows[0]["sw_feel_3_month"], rows[0]["sw_feel_change"]) == ("2", "-1")
    refused = as_cal.post(EXPORTS, data={"fmt": "entries", "wave": "exit"},
                          form_page=EXPORTS)
    assert refused.status_code == 400
    assert "is a timepoint, not an entry type" in refused.get_data(as_text=True)
    with nsw.uow() as uow:
        details = [e.detail for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export"))]
    assert details == [{"format": "paired", "wave": "all", "survey": "individual",
                        "drop_free_text": False, "shift_dates": False, "rows": 2,
                        "from": "baseline", "to": "3-month"}]


def test_the_participants_list_has_a_column_for_each_timepoint_of_the_sites_plan(
        as_cal: Staff, site: Writer) -> None:
    page = as_cal.get("/staff/sites/CAL/participants").get_data(as_text=True)
    rows = table_rows(page, "people")
    assert rows[0] == ["Code", "Respondent", "Cohort", "Contact by", "Language", "Needs",
                       "Baseline", "3-month", "Exit", "Pulse", "Journal", "Actions"]
    assert {row[0]: row[6:11] for row in rows[1:]} == {
        "CAL-0001": ["Completed", "Completed", "Completed", "Not for them", "2 entries"],
        "CAL-0002": ["Completed", "Not started", "Completed", "Not for them", "0 entries"],
        "CAL-0003": ["Completed", "Not started", "Completed", "Not for them", "0 entries"],
        # A professional answers about two people: each answer counts.
        "CAL-0005": ["2 completed", "2 completed", "Not started", "2 answered",
                     "0 entries"],
    }
    for name in ("Baseline", "3-month", "Exit", "Pulse", "Journal"):
        assert f'<th scope="col">{name}</th>' in page
    assert '<th scope="row">CAL-0005</th>' in page


def test_the_interviews_list_says_where_each_person_is_at_their_timepoint_now(
        as_cal: Staff, site: Writer) -> None:
    page = as_cal.get("/staff/sites/CAL/interviews").get_data(as_text=True)
    rows = table_rows(page, "interviews")
    assert rows[0][2:4] == ["Timepoint now", "Where they are"]
    # A family member's answers about someone else are not their own interview's:
    # CAL-0003 has not started theirs (the participants list counts both).
    assert {row[0]: row[2:4] for row in rows[1:]} == {
        "CAL-0001": ["baseline", "Completed"], "CAL-0002": ["baseline", "Completed"],
        "CAL-0003": ["baseline", "Not started"], "CAL-0005": ["baseline", "Not started"]}
