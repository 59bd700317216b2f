"""Exports across a site's plan: any timepoint, pulses, entries and linked respondents.

The site (tests/integration/plan_data.py) has a baseline, a 3-month timepoint, an exit,
a weekly professional pulse and a journal. Each file is read back the way an evaluator
opens it: csv, openpyxl and pyreadstat.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

from storage.exports import ExportError, write_codebook, write_export
from storage.models import AuditEntry, SurveyVersion
from storage.timeline import participant_timeline
from web_survey.bootstrap import Services

from .plan_data import (
    FEEL_LABEL,
    JOURNAL_TEXT,
    NEW_FEEL_LABEL,
    Writer,
    content_folder,
    evaluated_site,
    individual_source,
)

PLAN_WORDS = "baseline, 3-month, exit, pulse; entries: journal"
LABEL_A = ("Domain: Example domain A (example: a site supplies HEF's own domains and items) "
           "(mean of 3 items)")


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_config, "CONTENT_DIR": str(content_folder(tmp_path))}


@pytest.fixture
def site(nsw: Services, tmp_path: Path) -> Writer:
    return evaluated_site(nsw, tmp_path)


def export(nsw: Services, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        assert site is not None
        plan = nsw.conversations.catalogue.plan(uow.session, site.id)
        write_export(uow.session, nsw.surveys, fmt, out, "CAL", vault=nsw.vault, plan=plan,
                     **options)
    return out.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


# ------------------------------------------------------------------ long and wide


def test_long_says_timepoint_number_version_and_linked_person(nsw, site):
    rows = read_csv(export(nsw, "long"))
    header = list(rows[0])
    assert header[:10] == ["site", "participant", "about", "respondent_type", "cohort",
                           "survey", "survey_version_id", "survey_version", "wave",
                           "occurrence"]
    feel = {(r["participant"], r["wave"]): r for r in rows if r["question_id"] == "sw_feel"}
    assert [(r["wave"], r["occurrence"], r["survey_version"], r["value_code"])
            for r in feel.values()] == [("baseline", "0", "1", "3"), ("3-month", "0", "2", "2"),
                                        ("exit", "0", "2", "3")]
    assert feel["CAL-0001", "3-month"]["survey_version_id"] == str(
        site.versions["individual", 2])
    # Rows come in the plan's order: baseline, 3-month, exit, pulse, then journal.
    waves = [r["wave"] for r in rows if r["participant"] == "CAL-0001"]
    assert list(dict.fromkeys(waves)) == ["baseline", "3-month", "exit", "journal"]
    family = {r["about"] for r in rows if r["participant"] == "CAL-0003"}
    assert family == {"CAL-0001"}
    assert {r["about"] for r in rows if r["participant"] == "CAL-0001"} == {""}
    pulses = {(r["about"], r["occurrence"]) for r in rows
              if r["participant"] == "CAL-0005" and r["wave"] == "pulse"}
    assert pulses == {("CAL-0001", "1"), ("CAL-0001", "2")}
    unversioned = [r for r in rows if r["survey"] != "individual"]
    assert {(r["survey_version_id"], r["survey_version"]) for r in unversioned} == {("", "")}


def test_wide_has_a_row_per_person_timepoint_and_linked_person(nsw, site):
    rows = read_csv(export(nsw, "wide", survey_id="individual"))
    assert [(r["participant"], r["wave"]) for r in rows] == [
        ("CAL-0001", "baseline"), ("CAL-0001", "3-month"), ("CAL-0001", "exit"),
        ("CAL-0002", "baseline"), ("CAL-0002", "exit")]
    three = rows[1]
    assert (three["sw_feel"], three["home"], three["survey_version"], three["occurrence"],
            three["about"], three["person"], three["channel"]) == (
        "2", "3", "2", "0", "", "CAL-0001", "web")
    only = read_csv(export(nsw, "wide", survey_id="individual", wave="3-month"))
    assert [r["participant"] for r in only] == ["CAL-0001"]
    professional = read_csv(export(nsw, "wide", survey_id="outcomes_worker"))
    assert [(r["about"], r["person"], r["wave"], r["occurrence"]) for r in professional] == [
        ("CAL-0001", "CAL-0001", "baseline", "0"), ("CAL-0001", "CAL-0001", "3-month", "0"),
        ("CAL-0001", "CAL-0001", "pulse", "1"), ("CAL-0001", "CAL-0001", "pulse", "2"),
        ("CAL-0002", "CAL-0002", "baseline", "0"), ("CAL-0002", "CAL-0002", "3-month", "0")]
    assert {r["participant"] for r in professional} == {"CAL-0005"}
    assert [r["dom_example_b"] for r in professional] == ["11", "15", "9", "12", "", "5"]


def test_an_unknown_timepoint_is_refused_naming_the_plans(nsw, site):
    with pytest.raises(ExportError) as refused:
        export(nsw, "wide", survey_id="individual", wave="6-month")
    assert str(refused.value) == (f"unknown timepoint '6-month': this site's plan has "
                                  f"{PLAN_WORDS}")
    with pytest.raises(ExportError, match="the paired export puts timepoints side by side"):
        export(nsw, "paired", survey_id="individual", wave="exit")
    with pytest.raises(ExportError, match="'6-month' is not a timepoint of this site's plan"):
        export(nsw, "paired", survey_id="individual", start="6-month")
    with pytest.raises(ExportError, match="'journal' is not a timepoint"):
        export(nsw, "paired", survey_id="individual", end="journal")
    with pytest.raises(ExportError, match="both 'exit'"):
        export(nsw, "paired", survey_id="individual", start="exit", end="exit")
    with pytest.raises(ExportError, match="only the paired export takes from and to"):
        export(nsw, "wide", survey_id="individual", start="baseline")
    with pytest.raises(ExportError, match="is a timepoint, not an entry type"):
        export(nsw, "entries", wave="exit")


# ------------------------------------------------------------------ paired


def test_paired_between_any_two_timepoints(nsw, site):
    default = {r["participant"]: r for r in read_csv(
        export(nsw, "paired", survey_id="individual"))}
    one = default["CAL-0001"]
    assert (one["sw_feel_baseline"], one["sw_feel_exit"], one["sw_feel_change"]) == (
        "3", "3", "0")
    assert "sw_feel_3_month" not in one
    # A person on their own, then with support: both answers kept, no change.
    two = default["CAL-0002"]
    assert (two["home_baseline"], two["home_exit"], two["home_change"],
            two["same_who_answered"]) == ("1", "2", "", "0")
    early = {r["participant"]: r for r in read_csv(
        export(nsw, "paired", survey_id="individual", start="baseline", end="3-month"))}
    one = early["CAL-0001"]
    assert (one["sw_feel_baseline"], one["sw_feel_3_month"], one["sw_feel_change"],
            one["home_change"], one["same_who_answered"]) == ("3", "2", "-1", "1", "1")
    assert (early["CAL-0002"]["home_3_month"], early["CAL-0002"]["same_who_answered"]) == (
        "", "")
    late = read_csv(export(nsw, "paired", survey_id="individual", start="3-month",
                           end="exit"))[0]
    assert (late["home_3_month"], late["home_exit"], late["home_change"]) == ("3", "3", "0")
    assert "better_now_exit" in late and "better_now_change" not in late


def test_paired_puts_linked_respondents_beside_the_person_by_code(nsw, site):
    family = read_csv(export(nsw, "paired", survey_id="family"))
    assert [(r["participant"], r["about"], r["person"], r["home_baseline"], r["home_exit"],
             r["home_change"]) for r in family] == [
        ("CAL-0003", "CAL-0001", "CAL-0001", "3", "2", "-1")]
    professional = read_csv(export(nsw, "paired", survey_id="outcomes_worker",
                                   start="baseline", end="3-month"))
    assert [(r["person"], r["dom_example_a_baseline"], r["dom_example_a_3_month"],
             r["dom_example_a_change"]) for r in professional] == [
        ("CAL-0001", "4", "5", "1"), ("CAL-0002", "", "2.3333", "")]


def test_paired_against_a_recurring_timepoint_takes_its_first_and_latest_pulse(nsw, site):
    rows = read_csv(export(nsw, "paired", survey_id="outcomes_worker", start="baseline",
                           end="pulse"))
    first = rows[0]
    assert (first["about"], first["dom_example_b_baseline"], first["dom_example_b_pulse"],
            first["dom_example_b_change"]) == ("CAL-0001", "11", "12", "1")
    backwards = read_csv(export(nsw, "paired", survey_id="outcomes_worker", start="pulse",
                                end="3-month"))[0]
    assert (backwards["dom_example_b_pulse"], backwards["dom_example_b_3_month"]) == (
        "9", "15")


def test_cli_paired_from_to_writes_its_codebook_and_audits_the_pair(nsw, site, cli,
                                                                     tmp_path):
    out = tmp_path / "pair.csv"
    result = cli("export", "--site", "CAL", "--format", "paired", "--survey", "individual",
                 "--from", "3-month", "--to", "exit", "--out", str(out), expect=None)
    assert result.exit_code == 0, result.stderr
    assert [r["participant"] for r in read_csv(out.read_bytes())] == ["CAL-0001",
                                                                      "CAL-0002"]
    codebook = {r["variable"]: r for r in read_csv(
        (tmp_path / "pair.codebook.csv").read_bytes())}
    assert codebook["home_change"]["label"] == (
        "How they feel about where they live: change from 3-month to exit")
    assert codebook["home_3_month"]["waves"] == "3-month"
    assert "Exit code minus 3-month code" in codebook["home_change"]["notes"]
    assert set(codebook) == set(read_csv(out.read_bytes())[0])
    with nsw.uow() as uow:
        detail = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "export")).one().detail
    assert detail == {"format": "paired", "wave": "all", "survey": "individual",
                            "drop_free_text": False, "shift_dates": False, "rows": 2,
                            "from": "3-month", "to": "exit"}
    refused = cli("export", "--site", "CAL", "--format", "wide", "--survey", "individual",
                  "--wave", "6-month", expect=None)
    assert refused.exit_code != 0
    assert f"this site's plan has {PLAN_WORDS}" in refused.stderr


# ------------------------------------------------------------------ trajectory


def test_trajectory_has_a_row_per_person_and_a_column_per_timepoint(nsw, site):
    rows = read_csv(export(nsw, "trajectory", survey_id="individual"))
    assert [r["participant"] for r in rows] == ["CAL-0001", "CAL-0002"]
    one, two = rows
    assert [one[f"sw_feel_{t}"] for t in ("baseline", "3_month", "exit")] == ["3", "2", "3"]
    assert [two[f"home_{t}"] for t in ("baseline", "3_month", "exit")] == ["1", "", "2"]
    assert [one[f"status_{t}"] for t in ("baseline", "3_month", "exit")] == ["completed"] * 3
    assert (two["who_answered_exit"], two["status_3_month"]) == ("supported", "")
    header = list(one)
    assert header.index("sw_feel_baseline") < header.index("sw_feel_3_month") < header.index(
        "sw_feel_exit") < header.index("home_baseline")
    assert "better_now_exit" in one and "better_now_baseline" not in one
    assert not any(name.endswith("_change") for name in header)


def test_trajectory_of_linked_respondents_with_domains_and_pulses(nsw, site):
    rows = read_csv(export(nsw, "trajectory", survey_id="outcomes_worker"))
    assert [(r["participant"], r["about"], r["person"]) for r in rows] == [
        ("CAL-0005", "CAL-0001", "CAL-0001"), ("CAL-0005", "CAL-0002", "CAL-0002")]
    one, two = rows
    # Each pulse answered gets its own columns: pulse_1, pulse_2.
    assert [one[f"dom_example_b_{slot}"] for slot in
            ("baseline", "3_month", "exit", "pulse_1", "pulse_2")] == ["11", "15", "", "9",
                                                                         "12"]
    assert [two[f"dom_example_a_{slot}"] for slot in ("baseline", "3_month", "pulse_1")] == [
        "", "2.3333", ""]
    assert (one["a_item3_pulse_2"], one["status_pulse_2"]) == ("2", "completed")
    out = io.BytesIO()
    with nsw.uow() as uow:
        site_id = site.site_id
        write_codebook(nsw.surveys, "trajectory", out, "outcomes_worker",
                       session=uow.session, site_code="CAL",
                       plan=nsw.conversations.catalogue.plan(uow.session, site_id))
    codebook = {r["variable"]: r for r in read_csv(out.getvalue())}
    assert codebook["dom_example_a_pulse_2"]["label"] == f"{LABEL_A} at pulse #2"
    assert codebook["dom_example_a_pulse_2"]["waves"] == "pulse #2"
    assert set(codebook) == set(rows[0])


# ------------------------------------------------------------------ entries


def test_entries_export_has_a_row_per_journal_entry(nsw, site):
    rows = read_csv(export(nsw, "entries"))
    assert [(r["participant"], r["entry_type"], r["entry_number"], r["channel"], r["mood"])
            for r in rows] == [("CAL-0001", "journal", "1", "sms", "3"),
                               ("CAL-0001", "journal", "2", "voice", "1")]
    first, second = rows
    assert first["entry"] and first["started_at"].startswith("2025-01-")
    # Typed phone numbers never reach an export.
    assert first["entry"] != JOURNAL_TEXT
    assert first["entry"] == "A good day out, ring me on [phone number removed]"
    assert (second["entry"], second["entry_recording"]) == ("", "RE0002.wav")
    assert read_csv(export(nsw, "entries", wave="journal")) == rows
    dropped = read_csv(export(nsw, "entries", drop_free_text=True))
    assert "entry" not in dropped[0] and "entry_recording" not in dropped[0]
    assert "RE0002.wav" not in export(nsw, "entries", drop_free_text=True).decode()


# ------------------------------------------------------------------ xlsx, SPSS, REDCap


def test_xlsx_has_trajectory_and_entries_sheets_with_domain_scores(nsw, site, tmp_path):
    path = tmp_path / "cal.xlsx"
    path.write_bytes(export(nsw, "xlsx"))
    book = openpyxl.load_workbook(path)
    assert "outcomes_worker trajectory" in book.sheetnames
    assert book.sheetnames[-2:] == ["Entries", "Codebook"]

    def table(name: str) -> list[dict[str, Any]]:
        header, *body = book[name].iter_rows(values_only=True)
        return [dict(zip(header, row, strict=True)) for row in body]

    trajectory = table("outcomes_worker trajectory")
    assert [(r["person"], r["dom_example_c_3_month"], r["dom_example_b_pulse_2"])
            for r in trajectory] == [("CAL-0001", 4.5, 12), ("CAL-0002", None, None)]
    wide = table("outcomes_worker")
    assert [r["dom_example_a"] for r in wide if r["wave"] == "3-month"] == [5, 2.3333]
    entries = table("Entries")
    assert [(r["entry_type"], r["entry_number"]) for r in entries] == [("journal", 1),
                                                                 ("journal", 2)]
    codebook = table("Codebook")
    assert {"Entries", "outcomes_worker trajectory"} <= {r["sheet"] for r in codebook}
    assert any(r["sheet"] == "Entries" and r["variable"] == "mood" for r in codebook)


def test_sav_labels_every_timepoint_and_keeps_domain_scores(nsw, site, tmp_path):
    path = tmp_path / "cal.sav"
    path.write_bytes(export(nsw, "sav", survey_id="outcomes_worker"))
    frame, meta = pyreadstat.read_sav(str(path))
    rows = {(r.about, r.wave, r.occurrence): r for r in frame.itertuples()}
    assert rows["CAL-0001", "3-month", 0].dom_example_c == pytest.approx(4.5)
    assert rows["CAL-0001", "pulse", 2].dom_example_b == 12
    assert rows["CAL-0002", "3-month", 0].dom_example_a == pytest.approx(2.3333)
    assert meta.variable_value_labels["wave"] == {
        "baseline": "Baseline", "3-month": "3-month", "exit": "Exit", "pulse": "pulse",
        "journal": "journal"}
    assert meta.column_names_to_labels["dom_example_a"] == LABEL_A
    assert meta.column_names_to_labels["person"].startswith("The person the answers are about")
    assert {r.person for r in frame.itertuples()} == {"CAL-0001", "CAL-0002"}


def test_redcap_events_are_the_timepoints(nsw, site):
    events = read_csv(export(nsw, "events", survey_id="individual"))
    # The pulse names a survey for professionals only: others get their own there.
    assert [tuple(r.values()) for r in events] == [
        ("1", "baseline_arm_1", "individual"), ("1", "3_month_arm_1", "individual"),
        ("1", "exit_arm_1", "individual"), ("1", "pulse_arm_1", "individual")]
    pulse = read_csv(export(nsw, "events", survey_id="outcomes_worker"))
    assert [r["unique_event_name"] for r in pulse] == [
        "baseline_arm_1", "3_month_arm_1", "exit_arm_1", "pulse_arm_1"]
    journal = read_csv(export(nsw, "events", survey_id="journal"))
    assert [r["unique_event_name"] for r in journal] == ["journal_arm_1"]
    rows = list(csv.reader(io.StringIO(export(nsw, "dictionary", survey_id="individual")
                                       .decode("utf-8-sig"))))
    fields = {r[0]: r for r in rows[1:]}
    assert "wave" not in fields and "occurrence" not in fields and "about" in fields
    assert "Asked at: baseline 3-month exit pulse." in fields["home"][-1]
    assert "Asked at: exit." in fields["better_now"][-1]


# ------------------------------------------------------------------ privacy and timeline


def test_no_contact_or_try_out_in_the_new_exports(nsw, site):
    site.person("CAL-9999", "individual")
    with nsw.uow() as uow:
        uow.repo.participant_by_id(site.ids["CAL-9999"]).is_tryout = True
        uow.commit()
    site.respond("CAL-9999", "journal", "journal", {"entry": "try-out"}, occurrence=1)
    site.respond("CAL-9999", "3-month", "individual", {"home": 1})
    for fmt, survey in (("trajectory", "individual"), ("entries", None),
                        ("paired", "outcomes_worker"), ("long", None)):
        data = export(nsw, fmt, survey_id=survey)
        assert b"CAL-9999" not in data and b"07700 900123" not in data, fmt


def test_the_timeline_shows_slots_entries_and_linked_respondents(nsw, site):
    with nsw.uow() as uow:
        plan = nsw.conversations.catalogue.plan(uow.session, site.site_id)
        one = participant_timeline(uow.session, site.ids["CAL-0001"], plan)
        two = participant_timeline(uow.session, site.ids["CAL-0002"], plan)
        pro = participant_timeline(uow.session, site.ids["CAL-0005"], plan)
    assert [(t.name, [s.status for s in t.slots]) for t in one.timepoints] == [
        ("baseline", ["completed"]), ("3-month", ["completed"]), ("exit", ["completed"]),
        ("pulse", [])]
    assert [s.version for t in one.timepoints for s in t.slots] == [1, 2, 2]
    assert [(s.wave, s.occurrence, s.channel) for s in one.entries] == [
        ("journal", 1, "sms"), ("journal", 2, "voice")]
    assert one.spoken_about_by == [("CAL-0003", "family"), ("CAL-0005", "professional")]
    assert sorted({(s.respondent, s.wave, s.occurrence) for s in one.about_them}) == [
        ("CAL-0003", "baseline", 0), ("CAL-0003", "exit", 0), ("CAL-0005", "3-month", 0),
        ("CAL-0005", "baseline", 0), ("CAL-0005", "pulse", 1), ("CAL-0005", "pulse", 2)]
    assert [t.slots for t in two.timepoints if t.name == "3-month"] == [[]]
    assert pro.speaks_about == ["CAL-0001", "CAL-0002"]
    assert [(t.name, [(s.about, s.occurrence) for s in t.slots]) for t in pro.timepoints
            if t.name == "pulse"] == [("pulse", [("CAL-0001", 1), ("CAL-0001", 2)])]


def test_xlsx_for_one_timepoint_or_one_entry_type(nsw, site, tmp_path):
    path = tmp_path / "exit.xlsx"
    path.write_bytes(export(nsw, "xlsx", wave="3-month"))
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["family", "individual", "journal", "outcomes_worker",
                               "Codebook"]
    rows = list(book["outcomes_worker"].iter_rows(values_only=True))
    assert len(rows) == 3
    path.write_bytes(export(nsw, "xlsx", wave="journal"))
    book = openpyxl.load_workbook(path, read_only=True)
    assert "Entries" in book.sheetnames
    assert len(list(book["Entries"].iter_rows(values_only=True))) == 3


def test_exports_describe_the_sites_own_published_surveys(nsw, site, cli, tmp_path):
    """The site's latest version labels the columns; a survey only the site published
    exports too; each row says which version it answered."""
    with nsw.uow() as uow:
        uow.session.add(SurveyVersion(
            site_id=site.site_id, survey_id="cal_individual", version=1, digest="cal",
            source=individual_source(1).replace("id: individual", "id: cal_individual", 1)))
        uow.commit()
    site.respond("CAL-0002", "3-month", "cal_individual", {"know_sw": 1, "sw_feel": 1})
    out = tmp_path / "wide.csv"
    result = cli("export", "--site", "CAL", "--format", "wide", "--survey", "individual",
                 "--out", str(out), expect=None)
    assert result.exit_code == 0, result.stderr
    codebook = {r["variable"]: r for r in read_csv(
        (tmp_path / "wide.codebook.csv").read_bytes())}
    assert codebook["sw_feel"]["label"] == NEW_FEEL_LABEL != FEEL_LABEL
    assert [r["survey_version"] for r in read_csv(out.read_bytes())] == ["1", "2", "2", "1",
                                                                        "2"]
    own = tmp_path / "own.csv"
    result = cli("export", "--site", "CAL", "--format", "trajectory", "--survey",
                 "cal_individual", "--out", str(own), expect=None)
    assert result.exit_code == 0, result.stderr
    assert [(r["participant"], r["sw_feel_3_month"]) for r in read_csv(own.read_bytes())] == [
        ("CAL-0002", "1")]
