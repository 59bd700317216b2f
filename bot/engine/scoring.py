"""Scoring a survey's domains: pure functions of one response's answer codes.

A domain (``model.Domain``) scores its items by a sum or a mean. Standard library only,
like the rest of the engine: the exports call ``domain_scores`` for each response.

- A reverse-scored item counts as ``min + max - code``, where min and max are the
  lowest and highest codes of the question's answers other than "Not sure" (a number
  question's ``min`` and ``max``).
- "Not sure" is missing (``not_sure: missing``) or the middle of the scale
  (``not_sure: midpoint``, ``(min + max) / 2``).
- A skipped item, or one not asked (``show_if``), is missing.
- With fewer items counted than the domain needs (``Domain.needed``) the score is
  missing (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import Domain, Question, Survey

Codes = Mapping[str, int | None]


def scale_bounds(question: Question) -> tuple[int, int] | None:
    """The lowest and highest scored codes of ``question``, or None when it has none."""
    if not question.has_options:
        if question.minimum is None or question.maximum is None:
            return None
        return question.minimum, question.maximum
    codes = [option.code for option in question.options if not option.not_sure]
    return (min(codes), max(codes)) if codes else None


def item_value(domain: Domain, question: Question, code: int | None) -> float | None:
    """What one answer adds to ``domain``: None when it is missing."""
    if code is None:
        return None
    bounds = scale_bounds(question)
    if question.has_options:
        option = question.option(code)
        if option is None:
            return None  # not an answer of this question's scale
        if option.not_sure:
            if domain.not_sure != "midpoint" or bounds is None:
                return None
            return (bounds[0] + bounds[1]) / 2
    if question.id in domain.reverse:
        if bounds is None:
            return None
        return float(bounds[0] + bounds[1] - code)
    return float(code)


def score_items(domain: Domain, items: Iterable[tuple[Question, int | None]]) -> float | None:
    """``domain``'s score from its items, each a question and its answer code (or None)."""
    values = [value for question, code in items
              if (value := item_value(domain, question, code)) is not None]
    if not values or len(values) < domain.needed:
        return None
    total = sum(values)
    return total if domain.score == "sum" else total / len(values)


def domain_score(domain: Domain, survey: Survey, codes: Codes) -> float | None:
    """``domain``'s score from ``codes`` (question id -> answer code, None if none)."""
    return score_items(domain, ((survey.question(question_id), codes.get(question_id))
                                for question_id in domain.questions))


def domain_scores(survey: Survey, codes: Codes) -> dict[str, float | None]:
    """Every domain of ``survey`` scored from one response's ``codes``, by domain id."""
    return {domain.id: domain_score(domain, survey, codes) for domain in survey.domains}


def scored_at(domain: Domain, survey: Survey, timepoint: str) -> bool:
    """True when ``domain`` is scored at ``timepoint``: every item is asked there."""
    return all(survey.question(question_id).asked_at(timepoint)
               for question_id in domain.questions)
