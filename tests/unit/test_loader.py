"""The survey loader: the shipped surveys load, and every kind of mistake is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from content.loader import PACKAGE_CONTENT, ContentError, load_library
from web_survey import create_app

HEADER = """\
id: custom
title: {en: "Test survey"}
respondent_type: individual
answered_by: self
consent: {en: "Is it OK to ask you some questions?"}
questions:
"""

GOOD_QUESTION = """\
  - id: safe
    type: yes_no
    text: {en: "Do you feel safe?"}
"""


def write_survey(folder: Path, body: str, header: str = HEADER) -> Path:
    path = folder / "custom.yaml"
    path.write_text(header + body)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("scales.yaml", "phrases.yaml"):
        shutil.copy(PACKAGE_CONTENT / name, tmp_path / name)
    return tmp_path


def load_error(folder: Path, body: str, header: str = HEADER) -> ContentError:
    write_survey(folder, body, header)
    with pytest.raises(ContentError) as caught:
        load_library(folder)
    return caught.value


def test_shipped_surveys_load():
    library = load_library()
    assert {s.id for s in library} == {"individual", "family", "professional"}
    for survey in library:
        assert survey.for_wave("baseline") and survey.for_wave("exit")
    assert library.for_respondent("family").id == "family"


def test_a_good_custom_survey_loads(folder):
    write_survey(folder, GOOD_QUESTION)
    assert load_library(folder).get("custom").question("safe").type == "yes_no"


def test_a_question_may_carry_its_own_picture(folder):
    write_survey(folder, GOOD_QUESTION + "    picture: safe-home.png\n")
    assert load_library(folder).get("custom").question("safe").picture == "safe-home.png"


@pytest.mark.parametrize(("body", "question", "reason"), [
    (GOOD_QUESTION + "    picture: ../secret.svg\n", "safe",
     "picture must be a file name, not a path"),
    ("  - id: safe\n    type: yesno\n    text: {en: Hi}\n", "safe", "unknown type 'yesno'"),
    ("  - id: Safe Now\n    type: yes_no\n    text: {en: Hi}\n", "", "must be lower-case"),
    (GOOD_QUESTION + GOOD_QUESTION, "safe", "used by an earlier question"),
    ("  - id: safe\n    type: yes_no\n", "safe", "text must be text per language"),
    ("  - id: safe\n    type: yes_no\n    text: {pl: Tak}\n", "safe", "no English"),
    ("  - id: safe\n    type: yes_no\n    text: {en: '  '}\n", "safe", "empty"),
    ("  - id: safe\n    type: yes_no\n    txet: {en: Hi}\n    text: {en: Hi}\n", "safe",
     "unknown question field 'txet'"),
    ("  - id: safe\n    type: agree5\n    text: {en: Hi}\n", "safe", "professionals only"),
    ("  - id: safe\n    type: yes_no\n    text: {en: Hi}\n    show_if: {question: later, "
     "equals: [1]}\n", "safe", "not an earlier question"),
    (GOOD_QUESTION + "  - id: more\n    type: yes_no\n    text: {en: Hi}\n    show_if: "
     "{question: safe, equals: [7]}\n", "more", "not all answers of 'safe'"),
    (GOOD_QUESTION + "  - id: tea\n    type: yes_no\n    practice: true\n    text: {en: Hi}\n",
     "tea", "practice question must come before"),
    ("  - id: safe\n    type: yes_no\n    waves: [middle]\n    text: {en: Hi}\n", "safe",
     "waves must be a list"),
    ("  - id: safe\n    type: yes_no\n    waves: [exit]\n    text: {en: Hi}\n", "",
     "no questions for the baseline wave"),
    ("  - id: pick\n    type: choice\n    text: {en: Hi}\n    options:\n"
     "      - {code: 1, key: '1', label: {en: A}}\n      - {code: 2, key: '1', label: {en: B}}\n",
     "pick", "share the key '1'"),
    ("  - id: pick\n    type: choice\n    text: {en: Hi}\n    options:\n"
     "      - {code: 1, key: '1', label: {en: A}}\n      - {code: 2, key: '0', label: {en: B}}\n",
     "pick", "key 0 is for 'Not sure'"),
    ("  - id: pick\n    type: choice\n    text: {en: Hi}\n    options:\n"
     "      - {code: 1, key: '1', label: {en: A}}\n", "pick", "at least 2 answers"),
    ("  - id: safe\n    type: yes_no\n    text: {en: Hi}\n    options: []\n", "safe",
     "uses the standard answers"),
    ("  - id: count\n    type: number\n    min: 5\n    max: 1\n    text: {en: Hi}\n", "count",
     "min 5 is more than max 1"),
    ("  - id: safe\n    type: yes_no\n    record: true\n    text: {en: Hi}\n", "safe",
     "only open questions"),
    ("  - id: who\n    type: choice\n    role: who_answering\n    text: {en: Hi}\n    options:\n"
     "      - {code: 1, key: '1', name: me, label: {en: A}}\n"
     "      - {code: 2, key: '2', name: self, label: {en: B}}\n", "who", "need a name from"),
    ("  - id: consent\n    type: yes_no\n    text: {en: Hi}\n", "consent", "reserved"),
])
def test_each_mistake_names_file_question_and_reason(folder, body, question, reason):
    error = load_error(folder, body)
    assert error.file.endswith("custom.yaml")
    assert error.question == question
    assert reason in error.reason
    assert str(error).startswith(str(folder / "custom.yaml"))


def test_a_mistake_gives_the_line(folder):
    error = load_error(folder, GOOD_QUESTION + "  - id: more\n    type: maybe\n    text: x\n")
    assert error.line == 10
    assert "custom.yaml:10: question 'more': unknown type 'maybe'" in str(error)


def test_broken_yaml_gives_the_line(folder):
    error = load_error(folder, GOOD_QUESTION + "  - id: [oops\n")
    assert "not valid YAML" in error.reason
    assert error.line >= 9


def test_a_key_given_twice_is_refused(folder):
    error = load_error(folder, "  - id: safe\n    type: yes_no\n    type: open\n"
                               "    text: {en: Hi}\n")
    assert "appears twice" in error.reason


@pytest.mark.parametrize(("header", "reason"), [
    (HEADER.replace("consent:", "consnet:"), "unknown survey field 'consnet'"),
    (HEADER.replace("respondent_type: individual", "respondent_type: pet"), "respondent_type"),
    (HEADER.replace("answered_by: self\n", ""), "who-is-answering question"),
    (HEADER.replace('title: {en: "Test survey"}\n', ""), "no 'title'"),
])
def test_survey_level_mistakes(folder, header, reason):
    assert reason in load_error(folder, GOOD_QUESTION, header).reason


def test_missing_phrase_and_duplicate_survey_id(folder):
    write_survey(folder, GOOD_QUESTION)
    shutil.copy(folder / "custom.yaml", folder / "copy.yaml")
    with pytest.raises(ContentError, match="also used by"):
        load_library(folder)
    (folder / "copy.yaml").unlink()
    phrases = (folder / "phrases.yaml").read_text().replace("closing:", "closed:")
    (folder / "phrases.yaml").write_text(phrases)
    with pytest.raises(ContentError, match="the phrase 'closing' is missing"):
        load_library(folder)


def test_the_app_refuses_to_start_on_a_bad_survey(folder, app_config):
    write_survey(folder, "  - id: safe\n    type: yesno\n    text: {en: Hi}\n")
    app_config["CONTENT_DIR"] = str(folder)
    with pytest.raises(ContentError, match="question 'safe': unknown type"):
        create_app(app_config)
