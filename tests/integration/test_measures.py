"""Outside measures: imported from a site's CSV whole or not at all, exported by code, erased
with the person, and a migration that adds the table to a database holding people."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from bot.service.measures import Measures, MeasuresRefused
from storage.exports import ExportError, write_export
from storage.migrate import alembic_config
from storage.models import AuditEntry, OutsideMeasure, Participant
from web_survey.bootstrap import Services

HEADER = "participant,measure,period_start,period_end,value\n"
GOOD = (HEADER
        + "CAL-0001,hospital admissions,2026-01-01,2026-03-31,2\n"
        + "cal-0001, emergency  medication ,2026-01-01,2026-03-31,0.5\n"
        + "CAL-0002,staffing hours,2026-01-01,2026-01-31,-1.25\n")

Cli = Callable[..., Any]


@pytest.fixture
def people(make_participant: Callable[..., int]) -> None:
    make_participant(code="CAL-0001", phone="+447700900001")
    make_participant(code="CAL-0002", phone="+447700900002")
    make_participant(code="CAM-0001", site="CAM", phone="+447700900003")


def stored(nsw: Services) -> set[tuple[str, str, date, date, Decimal]]:
    with nsw.uow() as uow:
        return {(code, m.measure, m.period_start, m.period_end, m.value.normalize())
                for code, m in uow.session.execute(
                    select(Participant.code, OutsideMeasure)
                    .join(Participant, OutsideMeasure.participant_id == Participant.id))}


def audits(nsw: Services) -> list[tuple[str, str, dict[str, object]]]:
    """The import audit lines: (actor, site, detail)."""
    with nsw.uow() as uow:
        return [(e.actor, e.site_code, e.detail) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "measures_import")
            .order_by(AuditEntry.id))]


def import_file(cli: Cli, tmp_path: Path, body: str, site: str = "CAL",
                expect: int = 0, name: str = "figures.csv") -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(cli("measures", "import", str(path), "--site", site, expect=expect).output)


def export(nsw: Services, site: str = "CAL", **options: Any) -> list[dict[str, str]]:
    out = io.BytesIO()
    with nsw.uow() as uow:
        write_export(uow.session, nsw.surveys, "measures", out, site, vault=nsw.vault,
                     **options)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


# ------------------------------------------------------------------ import


def test_a_good_file_is_imported_and_audited(cli: Cli, nsw: Services, people: None,
                                             tmp_path: Path) -> None:
    output = import_file(cli, tmp_path, GOOD)
    assert "imported 3 measures into CAL: 3 added, 0 replaced" in output
    assert stored(nsw) == {
        ("CAL-0001", "hospital admissions", date(2026, 1, 1), date(2026, 3, 31), Decimal(2)),
        ("CAL-0001", "emergency medication", date(2026, 1, 1), date(2026, 3, 31),
         Decimal("0.5")),
        ("CAL-0002", "staffing hours", date(2026, 1, 1), date(2026, 1, 31), Decimal("-1.25")),
    }
    [(actor, site, detail)] = audits(nsw)
    assert actor.startswith("cli") and site == "CAL"
    assert detail == {"count": 3, "added": 3, "replaced": 0}


def test_headers_are_read_loosely_and_blank_rows_skipped(cli: Cli, nsw: Services,
                                                         people: None, tmp_path: Path) -> None:
    body = ("\ufeffValue,Participant,Measure,Period start,Period-End,Note\n"
            "3,CAL-0002,admissions,2026-04-01,2026-06-30,ignored\n"
            ",,,,,\n\n")
    assert "1 added" in import_file(cli, tmp_path, body)
    assert stored(nsw) == {("CAL-0002", "admissions", date(2026, 4, 1), date(2026, 6, 30),
                            Decimal(3))}


def test_a_file_with_any_bad_row_is_refused_whole_with_every_line(
        cli: Cli, nsw: Services, people: None, tmp_path: Path) -> None:
    import_file(cli, tmp_path, GOOD)
    before = stored(nsw)
    bad = (HEADER
           + "CAL-0001,hospital admissions,2026-01-01,2026-03-31,7\n"   # 2: good (a change)
           + "CAL-0001,admissions,01/02/2026,2026-03-31,1\n"            # 3
           + "CAL-0001,admissions,2026-02-30,2026-03-31,1\n"            # 4
           + "CAL-0001,admissions,2026-03-01,2026-02-01,1\n"            # 5
           + "CAL-0001,admissions,2026-01-01,2026-03-31,three\n"        # 6
           + "CAL-0001,  ,2026-01-01,2026-03-31,1\n"                    # 7
           + "CAL-9999,admissions,2026-01-01,2026-03-31,1\n"            # 8
           + "CAM-0001,admissions,2026-01-01,2026-03-31,1\n"            # 9
           + "CAL-0002,admissions,2026-01-01,2026-03-31,NaN\n"          # 10
           + "CAL-0002,admissions,2026-01-01,,1\n"                      # 11
           + "CAL-0001,hospital admissions,2026-01-01,2026-03-31,8\n")  # 12: line 2 again
    output = import_file(cli, tmp_path, bad, expect=1, name="bad.csv")
    expected = [
        "bad.csv: line 3: the period start '01/02/2026' is not a date written YYYY-MM-DD",
        "bad.csv: line 4: the period start '2026-02-30' is not a date written YYYY-MM-DD",
        "bad.csv: line 5: the period ends (2026-02-01) before it starts (2026-03-01)",
        "bad.csv: line 6: the value 'three' is not a number",
        "bad.csv: line 7: the measure name is empty",
        "bad.csv: line 8: CAL-9999 is not a participant of this site",
        "bad.csv: line 9: CAM-0001 is not a participant of this site",
        "bad.csv: line 10: the value 'NaN' is not a number",
        "bad.csv: line 11: the period end is empty (write it YYYY-MM-DD)",
        "bad.csv: line 12: line 2 has the same participant, measure and period",
    ]
    assert [line for line in output.splitlines() if line.startswith("bad.csv: line")] == (
        expected)
    assert "bad.csv: nothing imported: 10 problem(s)" in output
    assert "line 2:" not in output
    assert stored(nsw) == before
    assert len(audits(nsw)) == 1  # the first, good import's


def test_a_file_without_a_column_or_any_rows_is_refused(cli: Cli, nsw: Services, people: None,
                                                         tmp_path: Path) -> None:
    output = import_file(cli, tmp_path, "participant,measure,start,end,value\n", expect=1)
    assert "figures.csv: line 1: the header has no 'period_start' column" in output
    assert "figures.csv: line 1: the file has no measures" in import_file(
        cli, tmp_path, HEADER, expect=1)
    assert "figures.csv: line 1: the file is empty" in import_file(cli, tmp_path, "", expect=1)
    assert "no site 'XYZ'" in import_file(cli, tmp_path, GOOD, site="XYZ", expect=1)
    assert stored(nsw) == set() and audits(nsw) == []


def test_importing_the_same_period_again_replaces_the_value(cli: Cli, nsw: Services,
                                                            people: None,
                                                            tmp_path: Path) -> None:
    import_file(cli, tmp_path, GOOD)
    again = (HEADER
             + "CAL-0001,hospital admissions,2026-01-01,2026-03-31,4\n"   # replaces 2
             + "CAL-0001,hospital admissions,2026-04-01,2026-06-30,1\n")  # a new period
    output = import_file(cli, tmp_path, again)
    assert "imported 2 measures into CAL: 1 added, 1 replaced" in output
    admissions = {(start, value) for code, measure, start, _, value in stored(nsw)
                  if measure == "hospital admissions"}
    assert admissions == {(date(2026, 1, 1), Decimal(4)), (date(2026, 4, 1), Decimal(1))}
    assert len(stored(nsw)) == 4
    assert audits(nsw)[-1][2] == {"count": 2, "added": 1, "replaced": 1}


def test_a_site_imports_only_for_its_own_people(nsw: Services, people: None) -> None:
    measures = Measures(nsw.uow)
    body = HEADER + "CAM-0001,admissions,2026-01-01,2026-03-31,1\n"
    with pytest.raises(MeasuresRefused) as refused:
        measures.import_csv("CAL", body, "cam.csv", "test")
    # The same words as for a code that exists nowhere: nothing says CAM-0001 is real.
    assert refused.value.lines() == ["cam.csv: line 2: CAM-0001 is not a participant of "
                                     "this site"]
    done = measures.import_csv("cam", body, "cam.csv", "test")
    assert (done.added, done.replaced) == (1, 0)
    assert export(nsw, "CAL") == []
    assert [row["participant"] for row in export(nsw, "CAM")] == ["CAM-0001"]


# ------------------------------------------------------------------ export


def test_the_measures_export_is_long_by_code_only(cli: Cli, nsw: Services, people: None,
                                                   make_participant: Callable[..., int],
                                                   tmp_path: Path) -> None:
    make_participant(code="CAL-0003", phone=None, is_tryout=True)
    import_file(cli, tmp_path, GOOD + "CAL-0003,admissions,2026-01-01,2026-01-31,9\n"
                + "CAL-0002,=HYPERLINK(1),2026-01-01,2026-01-31,1000000\n")
    result = cli("export", "--site", "CAL", "--format", "measures")
    lines = result.output.lstrip("\ufeff").splitlines()
    assert lines == [
        "participant,measure,period_start,period_end,value",
        "CAL-0001,emergency medication,2026-01-01,2026-03-31,0.5",
        "CAL-0001,hospital admissions,2026-01-01,2026-03-31,2",
        "CAL-0002,'=HYPERLINK(1),2026-01-01,2026-01-31,1000000",
        "CAL-0002,staffing hours,2026-01-01,2026-01-31,-1.25",
    ]
    assert "+4477" not in result.output and "7700900" not in result.output
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry is not None
        assert (entry.site_code, entry.detail["format"], entry.detail["rows"]) == (
            "CAL", "measures", 4)


def test_shifted_dates_move_each_persons_periods_like_their_answers(
        cli: Cli, nsw: Services, people: None, tmp_path: Path) -> None:
    import_file(cli, tmp_path, GOOD)
    rows = export(nsw, shift_dates=True)
    for row in rows:
        back = timedelta(days=nsw.vault.date_shift_days(row["participant"]))
        original = {"CAL-0001": (date(2026, 1, 1), date(2026, 3, 31)),
                    "CAL-0002": (date(2026, 1, 1), date(2026, 1, 31))}[row["participant"]]
        assert (row["period_start"], row["period_end"]) == (
            (original[0] - back).isoformat(), (original[1] - back).isoformat())


def test_the_measures_export_takes_no_wave(nsw: Services) -> None:
    with pytest.raises(ExportError, match="periods, not waves"):
        export(nsw, wave="baseline")


# ------------------------------------------------------------------ erasure


def test_erasing_a_person_removes_their_measures(cli: Cli, nsw: Services, people: None,
                                                 tmp_path: Path) -> None:
    import_file(cli, tmp_path, GOOD)
    cli("participant", "erase", "CAL-0001", "--yes")
    assert {row[0] for row in stored(nsw)} == {"CAL-0002"}
    assert [row["participant"] for row in export(nsw)] == ["CAL-0002"]


# ------------------------------------------------------------------ migration


def _revision_adding_measures(config: Any) -> tuple[str, str]:
    """(this migration's revision, the one before): found by file, so renumbering is fine."""
    for script in ScriptDirectory.from_config(config).walk_revisions():
        if script.path.endswith("_outside_measures.py"):
            down = script.down_revision
            assert isinstance(down, str)
            return script.revision, down
    raise AssertionError("no outside measures migration")


def test_the_migration_adds_the_table_beside_existing_people(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    revision, before = _revision_adding_measures(config)
    command.upgrade(config, before)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sites (code, name, contact_text, is_tryout, created_at, "
            "worrying_words, safeguarding_lead) "
            "VALUES ('CAM', 'Camden', '', 0, '2026-01-01 00:00:00', '', '')"))
        connection.execute(text(
            "INSERT INTO participants (site_id, code, respondent_type, cohort, language, "
            "preferred_channel, needs, current_wave, opted_out, is_tryout, created_at) "
            "VALUES (1, 'CAM-0001', 'individual', '', 'en', 'web', '', 'baseline', 0, 0, "
            "'2026-01-01 00:00:00')"))
    command.upgrade(config, revision)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outside_measures (site_id, participant_id, measure, period_start, "
            "period_end, value, imported_at, imported_by) VALUES (1, 1, 'admissions', "
            "'2026-01-01', '2026-03-31', 2, '2026-04-01 00:00:00', 'cli')"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT code FROM participants")).scalar() == "CAM-0001"
        assert connection.execute(text("SELECT value FROM outside_measures")).scalar() == 2
    command.downgrade(config, before)
    assert "outside_measures" not in inspect(engine).get_table_names()
    engine.dispose()
