"""The names of an export's columns, made in one place from a survey's ids.

Every export (``storage.exports.variables``) names its columns with these functions, and
the survey loader (``content.loader``) asks ``column_clash`` for the same names, so a
survey whose ids would give two columns one name is refused before it is used: an
evaluator's spreadsheet or SPSS file would otherwise get one column's data under the
other's name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .model import Question, Survey

# The columns every layout may hold beside the answers (``storage.exports.variables``
# makes them; a test keeps the two lists the same).
CONTEXT_COLUMNS = ("participant", "about", "person", "site", "respondent_type", "cohort",
                   "survey", "survey_version_id", "survey_version", "wave", "occurrence",
                   "who_answered", "channel", "status", "consent", "started_at",
                   "completed_at", "entry_type", "entry_number", "same_who_answered")
# The per-timepoint context columns of the paired and trajectory layouts
# (``who_answered_baseline``...).
PER_WAVE = ("who_answered", "channel", "status", "completed_at")

# Scales whose codes are ordered so that a higher code is a better answer (scale3:
# 1 Unhappy, 2 OK, 3 Happy; agree5: 1 Strongly disagree ... 5 Strongly agree) and
# numbers. Only these get a change column in the paired export. Yes/no answers and
# choices are categories: evaluators cross-tabulate them instead.
ORDERED_TYPES = ("scale3", "agree5", "number")

# A domain's score is this prefix and its id (``dom_wellbeing``).
DOMAIN_PREFIX = "dom_"

# What each part of an open question's answer is called, as the end of its column name.
PART_SUFFIXES = {"answer": "", "recording": "_recording", "transcript": "_transcript"}

# SPSS refuses these as variable names (any case); question and domain ids are lower
# case, so these are the ones to keep out.
SPSS_RESERVED = ("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to",
                 "with")
# The longest variable name SPSS takes (bytes; the names here are ASCII).
SPSS_NAME_MOST = 64


def answer_parts(question: Question) -> tuple[str, ...]:
    """The parts of ``question``'s answer an export has a column for: every open
    question takes a voice message, so it has the answer, the recording and its
    transcript; any other question its answer."""
    return ("answer", "recording", "transcript") if question.type == "open" else ("answer",)


def answer_column(question_id: str, part: str = "answer") -> str:
    """The column of one part of a question's answer: ``life``, ``life_recording``..."""
    return question_id + PART_SUFFIXES[part]


def domain_column(domain_id: str) -> str:
    """The column of a domain's score: ``dom_wellbeing``."""
    return DOMAIN_PREFIX + domain_id


def wave_suffix(wave: str, occurrence: int | None = None) -> str:
    """A timepoint as it ends a column name: ``3-month`` -> ``3_month``, and a recurring
    timepoint's pulse, ``weekly`` 2 -> ``weekly_2`` (names stay valid in SPSS, Stata, R)."""
    suffix = wave.replace("-", "_")
    return f"{suffix}_{occurrence}" if occurrence else suffix


def paired_name(name: str, wave: str, occurrence: int | None = None) -> str:
    """The column for ``name`` at a timepoint, such as ``know_sw_baseline``."""
    return f"{name}_{wave_suffix(wave, occurrence)}"


def change_name(name: str) -> str:
    """The column of ``name``'s change over a pair of timepoints."""
    return f"{name}_change"


def _own_columns(survey: Survey) -> Iterator[tuple[str, str, str, bool]]:
    """(column, the id it comes from, what it holds in words, whether the paired layout
    has its change) for each of ``survey``'s answer and score columns, wide layout."""
    for question in survey.questions:
        if question.is_data:
            for part in answer_parts(question):
                what = "the answer to" if part == "answer" else f"the {part} of"
                yield (answer_column(question.id, part), question.id, f"{what} {question.id}",
                       part == "answer" and question.type in ORDERED_TYPES)
    for domain in survey.domains:
        yield domain_column(domain.id), domain.id, f"the score of the domain {domain.id}", True


def export_columns(survey: Survey, waves: Sequence[str]
                   ) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """Each layout's columns from ``survey`` over the timepoints ``waves``, as (layout,
    [(column, source id or "" for context, what it holds in words)]): the wide layout
    (and the entries and SPSS files, which take its names) and the paired and
    trajectory layouts (each column at a timepoint, and a change over a pair)."""
    context = [(name, "", f"{name}, a column of every export") for name in CONTEXT_COLUMNS]
    own = list(_own_columns(survey))
    yield "wide", [*context, *((name, source, what) for name, source, what, _ in own)]
    across = list(context)
    for wave in dict.fromkeys(waves):
        across += [(paired_name(name, wave), "", f"{name}, a column of every export, at "
                    f"{wave}") for name in PER_WAVE]
        across += [(paired_name(name, wave), source, f"{what} at {wave}")
                   for name, source, what, _ in own]
    across += [(change_name(name), source, f"the change in {what}")
               for name, source, what, changes in own if changes]
    yield "paired", across


def shared_clash(surveys: Sequence[Survey]) -> tuple[str, str, str] | None:
    """Where the entries export, which gives a question id that several ``surveys``
    share one column, would give two different things one column: (survey id, id,
    reason) for the first, or None. A question ``life_recording`` in one entry survey
    and an open question ``life`` in another would both be ``life_recording``."""
    seen: dict[str, tuple[str, str]] = {}
    for survey in surveys:
        for name, source, what, _ in _own_columns(survey):
            first = seen.setdefault(name, (survey.id, what))
            if first[1] != what and name == source:
                return survey.id, source, (
                    f"the id {source} is also the name of the column holding {first[1]} "
                    f"of the survey {first[0]} in the entries export: choose another id")
            if first[1] != what:
                return survey.id, source, (
                    f"the column holding {what} would be called {name}, as is the column "
                    f"holding {first[1]} of the survey {first[0]}, in the entries export: "
                    f"choose another id for {source}")
    return None


def column_clash(survey: Survey, waves: Sequence[str]) -> tuple[str, str] | None:
    """The first id of ``survey`` that would give two export columns one name (or a
    column a name SPSS cannot take), with the reason in words; None when every column
    has a name of its own."""
    for layout, columns in export_columns(survey, waves):
        seen: dict[str, tuple[str, str]] = {}
        for name, source, what in columns:
            if name not in seen:
                seen[name] = (source, what)
                continue
            first, first_what = seen[name]
            if name in (source, first):
                blame, other = (source, first_what) if name == source else (first, what)
                if not (source and first):
                    return blame, (f"the id {blame} is the name of a column every export "
                                   "has: choose another id")
                return blame, (f"the id {blame} is also the name of the column holding "
                               f"{other} in exports: choose another id")
            blame = source or first
            return blame, (f"the column holding {what} would be called {name}, as is the "
                           f"column holding {first_what}, in exports: choose another id "
                           f"for {blame}")
        # The SPSS file has the wide layout's columns, named as they are.
        for name, (source, what) in seen.items() if layout == "wide" else ():
            if source and name in SPSS_RESERVED:
                return source, (f"the id {source} is a word SPSS keeps for itself, so the "
                                f"column holding {what} cannot be called so: choose "
                                "another id")
            if source and len(name) > SPSS_NAME_MOST:
                return source, (f"the column holding {what} would be called {name}, longer "
                                f"than SPSS's {SPSS_NAME_MOST} characters: choose a "
                                "shorter id")
    return None
