"""An XLSForm-style workbook publishes like a YAML survey, and what the loader cannot ask
is refused with the sheet, the row and the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from storage.models import SurveyVersion
from web_survey.bootstrap import Services

SURVEY_ROWS = [
    ("type", "name", "label::English (en)", "label::Polish (pl)", "hint::English (en)",
     "hint::Polish (pl)", "relevant", "constraint", "required"),
    ("note", "consent", "Is it OK to ask you some questions?",
     "Czy możemy zadać Ci kilka pytań?"),
    ("select_one seen", "seen_sw", "Did you see your social worker this week?",
     "Czy widziałeś w tym tygodniu swojego pracownika socjalnego?", None, None, None, None,
     "yes"),
    ("integer", "visits", "How many times did you see them?", "Ile razy?",
     "Say a number.", "Podaj liczbę.", "${seen_sw} = 'yes'", ". >= 0 and . <= 20"),
    ("text", "better", "What would make things better?", "Co może poprawić sytuację?"),
]
CHOICE_ROWS = [
    ("list_name", "name", "label::English (en)", "label::Polish (pl)"),
    ("seen", "yes", "Yes", "Tak"),
    ("seen", "no", "No", "Nie"),
    ("seen", "not_sure", "Not sure", "Nie wiem"),
]
SETTINGS_ROWS = [
    ("form_id", "form_title::English (en)", "form_title::Polish (pl)", "respondent_type",
     "answered_by"),
    ("cal_weekly", "Your week", "Twój tydzień", "individual", "self"),
]


def workbook(folder: Path, survey: list[tuple[Any, ...]] | None = None,
             choices: list[tuple[Any, ...]] | None = None, name: str = "cal_weekly.xlsx",
             ) -> Path:
    """A workbook with the survey, choices and settings sheets, as an evaluator makes it."""
    book = Workbook()
    sheets = (("survey", survey or SURVEY_ROWS), ("choices", choices or CHOICE_ROWS),
              ("settings", SETTINGS_ROWS))
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = folder / name
    book.save(path)
    return path


def published(nsw: Services) -> int:
    with nsw.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(SurveyVersion)
                                  .where(SurveyVersion.site_id.is_not(None)))


def test_a_workbook_is_published_and_asked_as_written(
        cli: Callable[..., Any], nsw: Services, make_participant: Callable[..., int],
        tmp_path: Path) -> None:
    make_participant("CAL-0001", site="CAL")
    ran = cli("survey", "publish", str(workbook(tmp_path)), "--site", "CAL")
    assert "Published cal_weekly version 1 for CAL." in ran.stdout
    assert "cal_weekly\t1\t" in cli("survey", "list", "--site", "CAL").stdout
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        assert site is not None
        survey = nsw.conversations.catalogue.latest(uow.session, site.id, "cal_weekly").survey
    assert survey.languages == ("en", "pl")
    assert survey.consent == {"en": "Is it OK to ask you some questions?",
                              "pl": "Czy możemy zadać Ci kilka pytań?"}
    seen, visits, better = survey.questions
    assert [(o.code, o.key, o.label["pl"]) for o in seen.options] == [
        (1, "1", "Tak"), (2, "2", "Nie"), (9, "0", "Nie wiem")]
    assert (visits.type, visits.minimum, visits.maximum, visits.help["en"]) == (
        "number", 0, 20, "Say a number.")
    assert visits.show_if is not None and visits.show_if.codes == frozenset({1})
    assert (better.type, better.text["en"]) == ("open", "What would make things better?")


@pytest.mark.parametrize(("change", "message"), [
    (lambda rows: [*rows[:3], ("select_multiple seen", "which", "Which ones?")],
     "sheet 'survey', row 4: the type 'select_multiple seen' has no equivalent here"),
    (lambda rows: [*rows[:2], ("note", "intro", "Hello!"), *rows[2:]],
     "sheet 'survey', row 3: a note has no equivalent here but the one named consent"),
    (lambda rows: [*rows[:3], ("integer", "visits", "How many?", None, None, None, None, ". > 1")],
     "sheet 'survey', row 4: constraint '. > 1' is not supported"),
    (lambda rows: [rows[0] + ("calculation",), *rows[1:]],
     "sheet 'survey', row 1: column 10 'calculation' is not supported"),
    (lambda rows: [*rows[:3], ("text", "seen_sw", "Again?")],
     "sheet 'survey', row 4, question 'seen_sw': this id is used by an earlier question"),
])
def test_what_cannot_be_asked_is_refused_with_sheet_row_and_reason(
        cli: Callable[..., Any], nsw: Services, make_participant: Callable[..., int],
        tmp_path: Path, change: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
        message: str) -> None:
    make_participant("CAL-0001", site="CAL")
    path = workbook(tmp_path, survey=change(list(SURVEY_ROWS)))
    ran = cli("survey", "publish", str(path), "--site", "CAL", expect=1)
    assert f"{path}: {message}" in ran.output
    assert published(nsw) == 0


def test_a_file_that_is_not_a_workbook_is_refused(
        cli: Callable[..., Any], make_participant: Callable[..., int], tmp_path: Path) -> None:
    make_participant("CAL-0001", site="CAL")
    path = tmp_path / "survey.xlsx"
    path.write_text("id: nope\n", encoding="utf-8")
    ran = cli("survey", "publish", str(path), "--site", "CAL", expect=1)
    assert "not an Excel workbook (.xlsx)" in ran.output
