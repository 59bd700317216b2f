"""Scoring domains: sum, mean, reverse items, "Not sure", skipped items, min_answered."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.engine.model import NOT_SURE_CODE, Domain, Option, Question, Survey
from bot.engine.scoring import (
    domain_score,
    domain_scores,
    item_value,
    scale_bounds,
    scored_at,
)

NOT_SURE = Option(NOT_SURE_CODE, {"en": "Not sure"}, "0", not_sure=True)
AGREE = (*(Option(code, {"en": str(code)}, str(6 - code)) for code in (5, 4, 3, 2, 1)),
         NOT_SURE)
SCALE3 = (*(Option(code, {"en": str(code)}, str(4 - code)) for code in (3, 2, 1)), NOT_SURE)


def agree(qid: str) -> Question:
    return Question(qid, "agree5", {"en": qid}, options=AGREE)


SURVEY = Survey(
    id="outcomes", title={"en": "Outcomes"}, respondent_type="professional",
    consent={"en": "OK?"}, phrases={},
    questions=(agree("a"), agree("b"), agree("c"),
               Question("home", "scale3", {"en": "home"}, options=SCALE3),
               Question("visits", "number", {"en": "visits"}, minimum=0, maximum=10),
               Question("late", "agree5", {"en": "late"}, options=AGREE,
                        waves=frozenset({"exit"}))),
)
MEAN = Domain("d", {"en": "D"}, ("a", "b", "c"), score="mean")
SUM = replace(MEAN, score="sum")


def score(domain: Domain, **codes: int | None) -> float | None:
    return domain_score(domain, SURVEY, codes)


def test_sum_and_mean_of_every_item():
    assert score(SUM, a=5, b=4, c=2) == 11
    assert score(MEAN, a=5, b=4, c=2) == pytest.approx(11 / 3)


def test_reverse_items_count_as_min_plus_max_minus_code():
    assert score(replace(SUM, reverse=frozenset({"b"})), a=5, b=4, c=2) == 5 + 2 + 2
    assert item_value(replace(SUM, reverse=frozenset({"a"})), SURVEY.question("a"), 1) == 5
    # "Not sure" is not a scale point: min and max come from the other codes.
    assert scale_bounds(SURVEY.question("a")) == (1, 5)
    assert scale_bounds(SURVEY.question("home")) == (1, 3)
    assert scale_bounds(SURVEY.question("visits")) == (0, 10)
    visits = Domain("v", {"en": "V"}, ("visits",), score="sum", reverse=frozenset({"visits"}))
    assert score(visits, visits=3) == 7


def test_not_sure_is_missing_by_default():
    assert score(SUM, a=5, b=NOT_SURE_CODE, c=2) is None  # every item is needed
    assert score(replace(MEAN, min_answered=2), a=5, b=NOT_SURE_CODE, c=2) == 3.5


def test_not_sure_as_the_midpoint_of_the_scale():
    midpoint = replace(SUM, not_sure="midpoint")
    assert score(midpoint, a=5, b=NOT_SURE_CODE, c=2) == 5 + 3 + 2
    # The middle is the same reversed or not.
    assert score(replace(midpoint, reverse=frozenset({"b"})), a=5, b=NOT_SURE_CODE, c=2) == 10
    home = Domain("h", {"en": "H"}, ("home",), score="mean", not_sure="midpoint")
    assert score(home, home=NOT_SURE_CODE) == 2


def test_skipped_and_unasked_items_are_missing():
    assert score(SUM, a=5, b=None, c=2) is None
    assert score(SUM, a=5, c=2) is None
    assert score(replace(SUM, min_answered=2), a=5, c=2) == 7
    assert score(replace(MEAN, min_answered=2), a=5, b=None, c=2) == 3.5


def test_min_answered_is_the_fewest_items_counted_for_a_score():
    at_least_two = replace(MEAN, min_answered=2)
    assert at_least_two.needed == 2 and MEAN.needed == 3
    assert score(at_least_two, a=4) is None
    assert score(at_least_two, a=4, b=NOT_SURE_CODE) is None
    assert score(replace(at_least_two, not_sure="midpoint"), a=4, b=NOT_SURE_CODE) == 3.5
    assert score(replace(MEAN, min_answered=1)) is None  # nothing answered: no score


def test_a_code_that_is_not_an_answer_is_missing():
    assert score(replace(SUM, min_answered=2), a=5, b=7, c=2) == 7


def test_every_domain_of_a_survey_and_its_waves():
    survey = replace(SURVEY, domains=(MEAN, replace(SUM, id="s")))
    assert domain_scores(survey, {"a": 1, "b": 2, "c": 3}) == {"d": 2.0, "s": 6.0}
    assert scored_at(MEAN, SURVEY, "baseline") and scored_at(MEAN, SURVEY, "3-month")
    late = Domain("l", {"en": "L"}, ("late",))
    assert scored_at(late, SURVEY, "exit") and not scored_at(late, SURVEY, "baseline")

