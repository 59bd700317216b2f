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
    ("  - id: safe\n    type: yes_no\n    waves: [Middle wave]\n    text: {en: Hi}\n", "safe",
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


# ---------------------------------------------------------------- scored domains

SCORED_QUESTIONS = """\
  - id: safe
    type: yes_no
    text: {en: "Do you feel safe?"}
  - id: home
    type: scale3
    text: {en: "How do you feel about your home?"}
  - id: days
    type: scale3
    text: {en: "How do you feel about your days?"}
  - id: visits
    type: number
    min: 0
    max: 30
    text: {en: "How many visits?"}
  - id: later
    type: scale3
    waves: [exit]
    text: {en: "How do you feel now?"}
"""


def domains(text: str) -> str:
    return SCORED_QUESTIONS + "domains:\n" + text


def test_domains_load_with_their_rules(folder):
    write_survey(folder, domains(
        "  - id: wellbeing\n    label: Wellbeing\n    questions: [home, days]\n"
        "    score: mean\n    reverse: [days]\n    not_sure: midpoint\n    min_answered: 1\n"
        "  - id: contact\n    label: {en: Contact}\n    questions: [visits]\n    score: sum\n"))
    survey = load_library(folder).get("custom")
    wellbeing, contact = survey.domains
    assert wellbeing.id == "wellbeing" and wellbeing.label == {"en": "Wellbeing"}
    assert wellbeing.questions == ("home", "days") and wellbeing.reverse == {"days"}
    assert (wellbeing.score, wellbeing.not_sure, wellbeing.skipped) == ("mean", "midpoint",
                                                                       "missing")
    assert wellbeing.needed == 1
    assert (contact.score, contact.not_sure, contact.needed) == ("sum", "missing", 1)
    assert contact.line == 33


def test_surveys_without_domains_have_none():
    assert all(survey.domains == () for survey in load_library())


DOMAIN = "  - id: wellbeing\n    label: Wellbeing\n"


@pytest.mark.parametrize(("text", "reason"), [
    ("  - wellbeing\n", "each domain must be a mapping"),
    ("    wellbeing: {}\n", "domains must be a list"),
    ("  - id: Well Being\n    label: W\n    questions: [home]\n    score: sum\n",
     "domain id 'Well Being' must be lower-case"),
    (DOMAIN + "    questions: [home, nope]\n    score: sum\n",
     "domain 'wellbeing': there is no question 'nope' in this survey"),
    (DOMAIN + "    questions: [home, safe]\n    score: sum\n",
     "domain 'wellbeing': 'safe' is a yes_no question; a domain scores only scale3, agree5, "
     "number questions"),
    (DOMAIN + "    questions: [home]\n    score: median\n",
     "domain 'wellbeing' has an unknown score rule 'median' (use one of: sum, mean)"),
    (DOMAIN + "    questions: [home]\n", "domain 'wellbeing' has no 'score'"),
    (DOMAIN + "    questions: [home]\n    score: sum\n    not_sure: zero\n",
     "domain 'wellbeing' has an unknown not_sure rule 'zero'"),
    (DOMAIN + "    questions: [home]\n    score: sum\n    skipped: zero\n",
     "domain 'wellbeing' has an unknown skipped rule 'zero'"),
    (DOMAIN + "    questions: [home]\n    score: sum\n    reverse: [days]\n",
     "domain 'wellbeing': the reverse-scored 'days' is not one of its questions"),
    (DOMAIN + "    questions: [home, days]\n    score: sum\n    min_answered: 3\n",
     "domain 'wellbeing': min_answered must be a whole number from 1 to 2"),
    (DOMAIN + "    questions: [home, days]\n    score: sum\n    min_answered: 0\n",
     "min_answered must be a whole number"),
    (DOMAIN + "    questions: [home, later]\n    score: sum\n",
     "domain 'wellbeing': its questions are not all asked at the same timepoints, so its "
     "scores could not be compared (home: every timepoint; later: exit)"),
    (DOMAIN + "    questions: [home, home]\n    score: sum\n",
     "domain 'wellbeing' lists the question 'home' twice"),
    (DOMAIN + "    questions: []\n    score: sum\n", "needs 'questions'"),
    ("  - id: wellbeing\n    questions: [home]\n    score: sum\n",
     "domain 'wellbeing' label must be text per language"),
    (DOMAIN + "    questions: [home]\n    score: sum\n    scale: mean\n",
     "domain 'wellbeing' has an unknown field 'scale'"),
    (DOMAIN + "    questions: [home]\n    score: sum\n" + DOMAIN
     + "    questions: [days]\n    score: sum\n", "this id is used by an earlier domain"),
])
def test_each_domain_mistake_names_file_domain_and_reason(folder, text, reason):
    error = load_error(folder, domains(text))
    assert reason in error.reason
    assert str(error).startswith(str(folder / "custom.yaml") + ":")
    if text.startswith("  - id:"):
        assert error.line >= 26  # the domain's own line


def test_a_reverse_scored_number_needs_both_bounds(folder):
    body = domains(DOMAIN + "    questions: [count]\n    score: sum\n    reverse: [count]\n")
    body = "  - id: count\n    type: number\n    min: 0\n    text: {en: 'How many?'}\n" + body
    assert "'count' is reverse-scored, so it needs both min and max" in load_error(
        folder, body).reason


def test_a_domain_column_may_not_take_a_question_id(folder):
    body = "  - id: dom_home\n    type: scale3\n    text: {en: Hi}\n" + domains(
        "  - id: home\n    label: Home\n    questions: [home]\n    score: sum\n")
    error = load_error(folder, body)
    assert error.reason == ("the id dom_home is also the name of the column holding the "
                            "score of the domain home in exports: choose another id")
    assert error.question == "dom_home" and error.line == 7


OPEN_LIFE = "  - id: life\n    type: open\n    text: {en: 'Tell us about your life'}\n"


@pytest.mark.parametrize(("body", "blamed", "reason"), [
    # A question named as another's recording or transcript column, after it or before.
    (OPEN_LIFE + "  - id: life_recording\n    type: yes_no\n    text: {en: Hi}\n",
     "life_recording", "the id life_recording is also the name of the column holding the "
     "recording of life in exports: choose another id"),
    ("  - id: life_transcript\n    type: open\n    text: {en: Hi}\n" + OPEN_LIFE,
     "life_transcript", "the id life_transcript is also the name of the column holding "
     "the transcript of life in exports: choose another id"),
    # A question named as a column every export has.
    ("  - id: status\n    type: yes_no\n    text: {en: Hi}\n", "status",
     "the id status is the name of a column every export has: choose another id"),
    # At a timepoint, named as a per-timepoint column of the paired layout:
    # status_3 at month and the status at 3-month are both status_3_month.
    ("  - id: status_3\n    type: yes_no\n    text: {en: Hi}\n    waves: [month]\n"
     "  - id: home\n    type: scale3\n    text: {en: Hi}\n    waves: [3-month]\n",
     "status_3", "the column holding the answer to status_3 at month would be called "
     "status_3_month, as is the column holding status, a column of every export, at "
     "3-month, in exports: choose another id for status_3"),
    # Two columns named alike that neither id is: life_change at baseline and life at
    # the timepoint change_baseline (a timepoint the survey names).
    ("  - id: life_change\n    type: scale3\n    text: {en: Hi}\n    waves: [baseline]\n"
     "  - id: life\n    type: scale3\n    text: {en: Hi}\n    waves: [change-baseline]\n",
     "life", "the column holding the answer to life at change-baseline would be called "
     "life_change_baseline, as is the column holding the answer to life_change at "
     "baseline, in exports: choose another id for life"),
    # A word SPSS keeps for itself.
    ("  - id: with\n    type: yes_no\n    text: {en: Hi}\n", "with",
     "the id with is a word SPSS keeps for itself, so the column holding the answer to "
     "with cannot be called so: choose another id"),
])
def test_ids_whose_export_columns_clash_are_refused(folder, body, blamed, reason):
    error = load_error(folder, GOOD_QUESTION + body)
    assert error.reason == reason
    assert error.question == blamed
    assert error.line == (GOOD_QUESTION + body).split("\n").index(
        f"  - id: {blamed}") + HEADER.count("\n") + 1


def test_ids_that_give_columns_of_different_files_one_name_load(folder):
    # home_baseline's own column and home's at baseline are in different files (wide,
    # paired), and in the paired file home_baseline is home_baseline_baseline.
    write_survey(folder, GOOD_QUESTION + "  - id: home_baseline\n    type: yes_no\n"
                 "    text: {en: Hi}\n  - id: home\n    type: scale3\n    text: {en: Hi}\n")
    assert load_library(folder).get("custom").question("home_baseline")


def test_the_practice_question_is_not_scored(folder):
    body = ("  - id: tea\n    type: scale3\n    practice: true\n    text: {en: 'Tea?'}\n"
            + domains(DOMAIN + "    questions: [tea, home]\n    score: sum\n"))
    assert "'tea' is the practice question" in load_error(folder, body).reason


def test_the_example_outcome_survey_loads_and_passes_the_checker():
    from content.checker import check
    from content.loader import load_phrases, load_scales, load_survey

    path = PACKAGE_CONTENT.parent / "examples" / "outcomes_worker.yaml"
    survey = load_survey(path, load_scales(PACKAGE_CONTENT / "scales.yaml"),
                         load_phrases(PACKAGE_CONTENT / "phrases.yaml"))
    assert [d.id for d in survey.domains] == ["example_a", "example_b", "example_c"]
    # Placeholders, never presented as the framework's own items.
    for domain in survey.domains:
        for qid in domain.questions:
            assert "example: a site supplies HEF's own items" in survey.question(qid).label
    problems, _ = check(path)
    assert problems == []
    # Not shipped as a default survey.
    assert "outcomes_worker" not in {s.id for s in load_library()}
