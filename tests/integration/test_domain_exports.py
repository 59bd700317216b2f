"""Scored domains in the exports: each domain's score per wave beside the items.

The example worker-rated outcome survey (content/examples/outcomes_worker.yaml) is the
professionals' survey here; professionals answer it on the web through the real engine
and service, and the scores are read back with csv, openpyxl and pyreadstat.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest

from bot.engine import Event
from content.loader import PACKAGE_CONTENT
from storage.exports import write_codebook, write_export
from web_survey.bootstrap import Services

EXAMPLE = PACKAGE_CONTENT.parent / "examples" / "outcomes_worker.yaml"
SURVEY = "outcomes_worker"
NS = 9  # Not sure
ITEMS = ("a_item1", "a_item2", "a_item3", "b_item1", "b_item2", "b_item3", "c_item1",
         "c_item2")
LABEL_A = ("Domain: Example domain A (example: a site supplies HEF's own domains and items) "
           "(mean of 3 items)")


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The shipped surveys for people and families; the example for professionals."""
    folder = tmp_path / "surveys"
    folder.mkdir()
    for name in ("individual.yaml", "family.yaml"):
        shutil.copy(PACKAGE_CONTENT / name, folder / name)
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    return {**app_config, "CONTENT_DIR": str(folder)}


def key(code: int | None) -> Event:
    """The web button for an answer code (a web button carries the code), or Skip."""
    return Event("skip") if code is None else Event("button", str(code))


def answer(nsw: Services, pid: int, codes: tuple[int | None, ...]) -> None:
    given = {"consent": Event("button", "1"), "notes": Event("text", "Fine"),
             **{item: key(code) for item, code in zip(ITEMS, codes, strict=True)}}
    conv = nsw.conversations
    reply = conv.handle(pid, "web", Event("start"))
    for _ in range(40):
        if reply.question is None:
            break
        reply = conv.handle(pid, "web", given[reply.question.question_id])
    else:
        raise AssertionError(f"the survey never ended: {reply}")
    if any(p.kind == "review" for p in reply.prompts):
        conv.handle(pid, "web", Event("submit"))


def open_exit(nsw: Services, pid: int) -> None:
    with nsw.uow() as uow:
        uow.repo.participant_by_id(pid).current_wave = "exit"
        uow.commit()


@pytest.fixture
def answered(nsw: Services, make_participant: Callable[..., int]) -> None:
    one = make_participant("CAL-0101", "professional", "+447700900101")
    two = make_participant("CAL-0102", "professional", "+447700900102")
    #            a: mean, a3 reversed, >= 2  b: sum, Not sure = 3   c: mean, both
    answer(nsw, one, (4, 4, 2, 5, NS, 3, 2, NS))
    answer(nsw, two, (3, NS, None, 4, None, 4, 1, 2))
    open_exit(nsw, one)
    open_exit(nsw, two)
    answer(nsw, one, (5, 5, 1, 5, 5, 5, 4, 5))
    answer(nsw, two, (2, 4, 5, 1, 1, NS, NS, NS))


# Scores by (participant, wave): blank where too few items count.
EXPECTED = {
    ("CAL-0101", "baseline"): {"dom_example_a": "4", "dom_example_b": "11", "dom_example_c": ""},
    ("CAL-0101", "exit"): {"dom_example_a": "5", "dom_example_b": "15", "dom_example_c": "4.5"},
    ("CAL-0102", "baseline"): {"dom_example_a": "", "dom_example_b": "", "dom_example_c": "1.5"},
    ("CAL-0102", "exit"): {"dom_example_a": "2.3333", "dom_example_b": "5",
                           "dom_example_c": ""},
}


def export(nsw: Services, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    with nsw.uow() as uow:
        write_export(uow.session, nsw.surveys, fmt, out, "CAL", vault=nsw.vault, **options)
    return out.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_wide_csv_has_a_score_per_domain_beside_the_items(nsw, answered):
    rows = read_csv(export(nsw, "wide", survey_id=SURVEY))
    header = list(rows[0])
    assert header[-3:] == ["dom_example_a", "dom_example_b", "dom_example_c"]
    assert header.index("c_item2") < header.index("dom_example_a")
    found = {(r["participant"], r["wave"]): {k: v for k, v in r.items() if k.startswith("dom_")}
             for r in rows}
    assert found == EXPECTED
    # The items stay as answered: the reverse-scored item keeps its own code.
    first = next(r for r in rows if (r["participant"], r["wave"]) == ("CAL-0101", "baseline"))
    assert (first["a_item3"], first["b_item2"]) == ("2", "9")


def test_one_wave_only(nsw, answered):
    rows = read_csv(export(nsw, "wide", survey_id=SURVEY, wave="exit"))
    assert {r["participant"]: r["dom_example_b"] for r in rows} == {"CAL-0101": "15",
                                                                     "CAL-0102": "5"}


def test_paired_csv_has_baseline_exit_and_change_for_each_domain(nsw, answered):
    rows = {r["participant"]: r for r in read_csv(export(nsw, "paired", survey_id=SURVEY))}
    one, two = rows["CAL-0101"], rows["CAL-0102"]
    assert [one[f"dom_example_a_{part}"] for part in ("baseline", "exit", "change")] == [
        "4", "5", "1"]
    assert [one[f"dom_example_b_{part}"] for part in ("baseline", "exit", "change")] == [
        "11", "15", "4"]
    assert (one["dom_example_c_baseline"], one["dom_example_c_change"]) == ("", "")
    assert (two["dom_example_a_exit"], two["dom_example_a_change"]) == ("2.3333", "")
    assert (two["dom_example_c_baseline"], two["dom_example_c_change"]) == ("1.5", "")


def test_codebooks_describe_each_domain_and_its_rule(nsw, answered):
    out = io.BytesIO()
    write_codebook(nsw.surveys, "wide", out, survey_id=SURVEY)
    rows = {r["variable"]: r for r in read_csv(out.getvalue())}
    domain = rows["dom_example_a"]
    assert domain["label"] == LABEL_A
    assert domain["type"] == "domain score (mean)"
    assert domain["question"] == "Mean of a_item1, a_item2, a_item3"
    assert domain["waves"] == "baseline exit"
    assert "Reverse-scored (lowest + highest code - code): a_item3." in domain["notes"]
    assert "Blank when fewer than 2 of the 3 items count." in domain["notes"]
    assert "counts as the middle of the scale" in rows["dom_example_b"]["notes"]
    assert "Blank unless every item counts." in rows["dom_example_b"]["notes"]
    out = io.BytesIO()
    write_codebook(nsw.surveys, "paired", out, survey_id=SURVEY)
    paired = {r["variable"]: r for r in read_csv(out.getvalue())}
    assert paired["dom_example_a_exit"]["label"] == f"{LABEL_A} at exit"
    assert paired["dom_example_a_change"]["type"] == "change"


def test_redcap_dictionary_lists_each_domain(nsw):
    rows = list(csv.reader(io.StringIO(export(nsw, "dictionary", survey_id=SURVEY)
                                       .decode("utf-8-sig"))))
    fields = {row[0]: row for row in rows[1:]}
    _, form, _, field_type, label, *_rest = fields["dom_example_b"]
    assert (form, field_type, label) == (SURVEY, "text", "Domain: Example domain B (example: "
                                         "a site supplies HEF's own domains and items) "
                                         "(sum of 3 items)")
    assert fields["dom_example_b"][7] == "number"
    assert "Scored at: baseline exit." in fields["dom_example_b"][-1]


def test_xlsx_has_domain_columns_in_wide_and_paired_sheets_and_codebook(nsw, answered,
                                                                          tmp_path):
    path = tmp_path / "cal.xlsx"
    path.write_bytes(export(nsw, "xlsx", survey_id=SURVEY))
    book = openpyxl.load_workbook(path)
    wide = list(book[SURVEY].values)
    header = list(wide[0])
    rows = {(r[header.index("participant")], r[header.index("wave")]): r for r in wide[1:]}
    for where, scores in EXPECTED.items():
        for name, value in scores.items():
            cell = rows[where][header.index(name)]
            assert (cell is None and value == "") or cell == float(value), (where, name)
    paired = list(book[f"{SURVEY} paired"].values)
    assert "dom_example_b_change" in paired[0]
    codebook = [row[1] for row in book["Codebook"].values]
    assert "dom_example_a" in codebook and "dom_example_c_change" in codebook


def test_sav_has_domain_scores_with_labels(nsw, answered, tmp_path):
    path = tmp_path / "cal.sav"
    path.write_bytes(export(nsw, "sav", survey_id=SURVEY))
    frame, meta = pyreadstat.read_sav(str(path))
    rows = {(r.participant, r.wave): r for r in frame.itertuples()}
    for where, scores in EXPECTED.items():
        for name, value in scores.items():
            score = getattr(rows[where], name)
            if value == "":
                assert score != score, (where, name)  # NaN: system-missing
            else:
                assert score == pytest.approx(float(value)), (where, name)
    assert meta.column_names_to_labels["dom_example_a"] == LABEL_A
    assert meta.variable_measure["dom_example_a"] == "scale"
    assert meta.original_variable_types["dom_example_a"] == "F8.2"
