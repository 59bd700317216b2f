"""An XLSForm-style spreadsheet as a survey: a second way in for evaluators who know ODK
or Kobo.

The workbook is turned into the survey data the loader reads (README, "Writing
surveys"), and from there it is published like a YAML file: loaded, checked, versioned.
What the loader cannot ask is refused with the sheet, the row and the reason, never
dropped quietly.

Sheets and columns::

    survey    type | name | label::English (en) | hint::English (en) | relevant | constraint
    choices   list_name | name | label::English (en)
    settings  form_id | form_title::English (en) | respondent_type | answered_by

``label::English (en)``, ``label::en`` and plain ``label`` (English) are all read; each
language found becomes one of the survey's languages. Question types: ``select_one
LIST`` (a choice; a choice named ``not_sure`` or ``9`` is "Not sure", key 0), ``text``
(an open answer), ``integer`` (a number; ``constraint`` may give its range as ``. >= 0
and . <= 10``), and ``note``, which has one use here: the note named ``consent`` is the
consent question's wording (the engine asks questions; it has no statement-only step).
``relevant`` may be ``${question} = 'choice'``, or several joined with ``or``.
``required`` is read and left: every question can be skipped (docs/content-rules.md);
so is the settings sheet's ``version``, as each publication is numbered.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from bot.engine import DEFAULT_LANGUAGE, NOT_SURE_CODE

from .loader import ContentError

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
# Columns read from the survey sheet (and each language of label and hint).
SURVEY_COLUMNS = {"type", "name", "label", "hint", "relevant", "constraint", "required"}
CHOICE_COLUMNS = {"list_name", "name", "label"}
# An XLSForm's own "version" is read and left: each publication is numbered instead.
SETTINGS_COLUMNS = {"form_id", "form_title", "respondent_type", "answered_by", "version"}
NOT_SURE_NAMES = {"not_sure", str(NOT_SURE_CODE)}
_LANGUAGE = re.compile(r"^(?P<column>[a-z_]+)(?:::(?:[^()]*\((?P<code>[a-z]{2,3})\)|"
                       r"(?P<bare>[a-z]{2,3})))?$")
_RELEVANT = re.compile(r"^\$\{(?P<question>[a-z][a-z0-9_]*)\}\s*=\s*'?(?P<value>[^'\s]+)'?$")
_RANGE = re.compile(r"^\.\s*>=\s*(?P<low>-?\d+)\s+and\s+\.\s*<=\s*(?P<high>-?\d+)$")


@dataclass
class Converted:
    """A workbook as survey YAML, and the survey-sheet row each question came from."""

    name: str
    source: str
    rows: dict[str, int] = field(default_factory=dict)

    def explain(self, error: ContentError) -> ContentError:
        """The loader's complaint about the converted survey, pointed at the row of the
        workbook it came from (the converted text's line means nothing to the author)."""
        row = self.rows.get(error.question)
        where = f"sheet '{SURVEY}', row {row}, question '{error.question}': " if row else ""
        return ContentError(self.name, where + error.reason)


# A row: (column, language) -> value; a column without languages is read as English.
Row = dict[tuple[str, str], Any]


@dataclass
class _Sheet:
    """One sheet's rows as {column: value}, with the row number people see in Excel."""

    rows: list[tuple[int, Row]]

    def texts(self, row: Row, column: str) -> dict[str, str]:
        """A column's wording by language (``label::English (en)`` -> ``en``)."""
        return {lang: str(value).strip() for (name, lang), value in row.items()
                if name == column and value not in (None, "")}


def _fail(name: str, sheet: str, row: int, reason: str) -> ContentError:
    return ContentError(name, f"sheet '{sheet}', row {row}: {reason}")


def _read(name: str, data: bytes) -> dict[str, Any]:
    try:
        return {ws.title: ws for ws in load_workbook(io.BytesIO(data), read_only=True,
                                                     data_only=True).worksheets}
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise ContentError(name, f"not an Excel workbook (.xlsx): {error}") from None


def _sheet(name: str, book: dict[str, Any], title: str, allowed: set[str],
           required: bool = True) -> _Sheet:
    """The sheet ``title`` with every column checked: a column the loader has no use
    for is refused, so nothing the author wrote is dropped unread."""
    if title not in book:
        if required:
            raise ContentError(name, f"there is no '{title}' sheet")
        return _Sheet([])
    rows = book[title].iter_rows(values_only=True)
    header = next(rows, ())
    columns: list[tuple[str, str] | None] = []
    for number, cell in enumerate(header, 1):
        heading = str(cell or "").strip()
        found = _LANGUAGE.match(heading.lower())
        if not heading:
            columns.append(None)
        elif found and found["column"] in allowed:
            columns.append((found["column"],
                            found["code"] or found["bare"] or DEFAULT_LANGUAGE))
        else:
            raise _fail(name, title, 1, f"column {number} '{heading}' is not supported "
                                        f"(use: {', '.join(sorted(allowed))})")
    read = []
    for number, values in enumerate(rows, 2):
        row = {column: value for column, value in zip(columns, values, strict=False)
               if column is not None and value not in (None, "")}
        if row:
            read.append((number, row))
    return _Sheet(read)


def _one(sheet: _Sheet, row: Row, column: str) -> str:
    return next(iter(sheet.texts(row, column).values()), "")


def _choices(name: str, sheet: _Sheet) -> dict[str, dict[str, dict[str, Any]]]:
    """Each choice list: the choice's name -> its answer (code, key, label)."""
    lists: dict[str, dict[str, dict[str, Any]]] = {}
    for number, row in sheet.rows:
        list_name, choice = _one(sheet, row, "list_name"), _one(sheet, row, "name")
        if not list_name or not choice:
            raise _fail(name, CHOICES, number, "every choice needs a list_name and a name")
        options = lists.setdefault(list_name, {})
        if choice in options:
            raise _fail(name, CHOICES, number, f"list '{list_name}' has '{choice}' twice")
        label = sheet.texts(row, "label")
        if choice in NOT_SURE_NAMES:
            options[choice] = {"code": NOT_SURE_CODE, "key": "0", "not_sure": True,
                               "label": label, "keywords": ["not sure"]}
            continue
        key = sum(1 for o in options.values() if not o.get("not_sure")) + 1
        if key > 9:
            raise _fail(name, CHOICES, number, f"list '{list_name}' has more than 9 answers; "
                                               "a phone has keys 1 to 9 for them")
        # A number names the answer's code in the exports; a word is typed to answer it.
        options[choice] = {"code": int(choice) if choice.isdigit() else key, "key": str(key),
                           "label": label,
                           "keywords": [] if choice.isdigit() else [choice.replace("_", " ")]}
    return lists


def _show_if(name: str, number: int, relevant: str,
             asked: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """``${q} = 'a' or ${q} = 'b'`` as the loader's show_if on ``q``'s codes."""
    target, codes = "", []
    for part in re.split(r"\s+or\s+", relevant.strip()):
        found = _RELEVANT.match(part.strip())
        if not found or (target and found["question"] != target):
            raise _fail(name, SURVEY, number, f"relevant '{relevant}' is not supported: "
                                              "use ${question} = 'choice' (joined with or)")
        target = found["question"]
        answer = asked.get(target, {}).get(found["value"])
        if answer is None:
            raise _fail(name, SURVEY, number, f"relevant: '{found['value']}' is not a choice "
                                              f"of an earlier select_one '{target}'")
        codes.append(answer["code"])
    return {"question": target, "equals": codes}


def _question(name: str, sheet: _Sheet, number: int, row: Row,
              lists: dict[str, dict[str, dict[str, Any]]],
              asked: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """One survey-sheet row as a loader question; ``asked`` gains its choices."""
    kind, qid = _one(sheet, row, "type").split(), _one(sheet, row, "name")
    question: dict[str, Any] = {"id": qid, "text": sheet.texts(row, "label")}
    constraint = _one(sheet, row, "constraint")
    if kind[:1] == ["select_one"] and len(kind) == 2:
        if kind[1] not in lists:
            raise _fail(name, SURVEY, number, f"there is no choice list '{kind[1]}' on the "
                                              f"'{CHOICES}' sheet")
        question.update(type="choice", options=list(lists[kind[1]].values()))
        asked[qid] = lists[kind[1]]
    elif kind == ["text"]:
        question["type"] = "open"
    elif kind == ["integer"]:
        question["type"] = "number"
        if constraint:
            found = _RANGE.match(constraint.strip())
            if not found:
                raise _fail(name, SURVEY, number, f"constraint '{constraint}' is not "
                                                  "supported: use . >= 0 and . <= 10")
            question.update(min=int(found["low"]), max=int(found["high"]))
    else:
        raise _fail(name, SURVEY, number, f"the type '{' '.join(kind)}' has no equivalent "
                                          "here (use select_one, text, integer, or a note "
                                          "named consent)")
    if constraint and kind != ["integer"]:
        raise _fail(name, SURVEY, number, "only an integer question may have a constraint")
    hint = sheet.texts(row, "hint")
    if hint:
        question["help"] = hint
    relevant = _one(sheet, row, "relevant")
    if relevant:
        question["show_if"] = _show_if(name, number, relevant, asked)
    return question


def _settings(name: str, sheet: _Sheet) -> dict[str, Any]:
    if len(sheet.rows) != 1:
        raise ContentError(name, f"the '{SETTINGS}' sheet needs one row under its headings "
                                 "(form_id, form_title, respondent_type)")
    number, row = sheet.rows[0]
    found: dict[str, Any] = {"id": _one(sheet, row, "form_id"),
                             "title": sheet.texts(row, "form_title"),
                             "respondent_type": _one(sheet, row, "respondent_type")}
    for column, key in (("form_id", "id"), ("form_title", "title"),
                        ("respondent_type", "respondent_type")):
        if not found[key]:
            raise _fail(name, SETTINGS, number, f"give the survey's {column}")
    answered_by = _one(sheet, row, "answered_by")
    if answered_by:
        found["answered_by"] = answered_by
    return found


def convert(data: bytes, name: str) -> Converted:
    """The workbook ``data`` (uploaded as ``name``) as survey YAML for the loader."""
    book = _read(name, data)
    questions_sheet = _sheet(name, book, SURVEY, SURVEY_COLUMNS)
    lists = _choices(name, _sheet(name, book, CHOICES, CHOICE_COLUMNS, required=False))
    survey = _settings(name, _sheet(name, book, SETTINGS, SETTINGS_COLUMNS))
    questions: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    asked: dict[str, dict[str, dict[str, Any]]] = {}
    languages: dict[str, None] = {DEFAULT_LANGUAGE: None}
    for number, row in questions_sheet.rows:
        kind, qid = _one(questions_sheet, row, "type"), _one(questions_sheet, row, "name")
        if not kind or not qid:
            raise _fail(name, SURVEY, number, "every row needs a type and a name")
        label = questions_sheet.texts(row, "label")
        languages.update(dict.fromkeys(label))
        if kind == "note" and qid == "consent":
            if questions:
                raise _fail(name, SURVEY, number, "the consent note must come first")
            survey["consent"] = label
            continue
        if kind == "note":
            raise _fail(name, SURVEY, number, "a note has no equivalent here but the one "
                                              "named consent: put its words in the next "
                                              "question's hint")
        questions.append(_question(name, questions_sheet, number, row, lists, asked))
        rows[qid] = number
    if "consent" not in survey:
        raise ContentError(name, f"the '{SURVEY}' sheet needs a note named consent first: "
                                 "the question that asks if it is OK to start")
    survey.update(languages=list(languages), questions=questions)
    source = (f"# Converted from the spreadsheet {name}: edit the spreadsheet, not this.\n"
              + yaml.safe_dump(survey, allow_unicode=True, sort_keys=False, width=100))
    return Converted(name, source, rows)
