"""The variables an export holds, named and labelled once for every format.

The wide CSV, the XLSX sheets, the SPSS file, the codebook and the REDCap dictionary
all read the same ``Variable`` list, so a column is called the same and means the same
thing in every file. Names are the question ids of the survey YAML, made by
``bot.engine.columns``, which the survey loader asks too, so no two columns share a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.channel_table import CHANNELS
from bot.engine import NOT_SURE_CODE, RESPONDENT_TYPES, WHO_ANSWERED
from bot.engine.columns import (
    ORDERED_TYPES,
    PER_WAVE,
    answer_column,
    answer_parts,
    change_name,
    domain_column,
    paired_name,
)
from bot.engine.model import Domain, Question, Survey, localise

# Every date in an export is in UTC.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

WHO_LABELS = {
    "self": "The person on their own",
    "supported": "The person with support",
    "family_carer": "A family member or carer",
    "professional": "A professional",
}
RESPONDENT_LABELS = {
    "individual": "Person with a learning disability",
    "family": "Family member or carer",
    "professional": "Health professional",
}
CHANNEL_LABELS = {name: row.label for name, row in CHANNELS.items()}
STATUS_LABELS = {
    "started": "Started but not finished",
    "completed": "Completed",
    "declined": "Said no to taking part",
    "opted_out": "Asked us to stop contacting them",
}
WAVE_LABELS = {"baseline": "Baseline", "exit": "Exit"}
ABOUT_NOTE = ("A family member's or professional's answers about a person carry that "
              "person's code; sort or filter by person to read everyone's view of them "
              "side by side.")

NEVER_POOL = "Never pool subjective answers across who answered."
SHIFTED = ("Shifted back by 0 to 364 days, the same number for every date of one "
           "participant, so intervals are kept.")


@dataclass(frozen=True)
class Variable:
    """One column: its name, label, kind of value, codes and where it comes from.

    ``kind`` is "text", "category" (text codes with labels), "flag" (1 yes, 0 no),
    "datetime", "code" (a question's answer code), "number", "free_text" or "score"
    (a domain's score, ``domain``, made from its ``items``; it may have decimals).
    ``part`` says which part of an answer a question column holds: the "answer"
    (code, number or text), the open question's "recording" (its reference) and
    "transcript" (what staff wrote down from it) or, in the paired layout, the
    "change". A paired or trajectory column copies the wide column
    ``source`` in timepoint ``wave``: at pulse or entry ``occurrence`` (trajectory), or
    (paired, None) at the timepoint's first pulse as the pair's start and its latest as
    the pair's end.
    """

    name: str
    label: str
    kind: str
    values: tuple[tuple[int | str, str], ...] = ()
    missing: tuple[int, ...] = ()
    measure: str = "nominal"
    question: Question | None = None
    part: str = "answer"
    wave: str = ""
    occurrence: int | None = None
    source: str = ""
    note: str = ""
    domain: Domain | None = None
    items: tuple[Question, ...] = ()

    @property
    def type_name(self) -> str:
        """What the codebook's ``type`` column says: the question type or the kind."""
        if self.domain is not None:
            return "change" if self.part == "change" else f"domain score ({self.domain.score})"
        if self.question is None:
            return {"datetime": "date and time (UTC)"}.get(self.kind, self.kind)
        return {"recording": "recording", "transcript": "transcript",
                "change": "change"}.get(self.part, self.question.type)

    @property
    def is_free_text(self) -> bool:
        return self.kind == "free_text"


def _labelled(values: dict[str, str], keys: tuple[str, ...]) -> tuple[tuple[int | str, str], ...]:
    return tuple((key, values[key]) for key in keys)


def wave_labels(waves: Sequence[str]) -> tuple[tuple[int | str, str], ...]:
    """Each timepoint or entry type with its label (its own name past baseline and exit)."""
    return tuple((wave, WAVE_LABELS.get(wave, wave)) for wave in waves)


def _context(shift_dates: bool, waves: Sequence[str]) -> dict[str, Variable]:
    dates_note = SHIFTED if shift_dates else ""
    variables = (
        Variable("participant", "Participant code (pseudonymous)", "text"),
        Variable("about", "Linked person: whom a family member or professional answered "
                 "about (blank: about themselves)", "text", note=ABOUT_NOTE),
        Variable("person", "The person the answers are about: the linked person, or the "
                 "participant themselves", "text", note=ABOUT_NOTE),
        Variable("site", "Site code", "text"),
        Variable("respondent_type", "Respondent type", "category",
                 _labelled(RESPONDENT_LABELS, RESPONDENT_TYPES)),
        Variable("cohort", "Cohort", "text"),
        Variable("survey", "Survey", "text"),
        Variable("survey_version_id", "Survey version answered (its id)", "number",
                 note="Blank: the deployment's survey file as it stood before versions "
                      "were kept."),
        Variable("survey_version", "Survey version answered (its number for this survey)",
                 "number"),
        Variable("wave", "Timepoint, or entry type (a journal, a story)", "category",
                 wave_labels(waves)),
        Variable("occurrence", "Pulse or entry number (0: a one-off timepoint)", "number"),
        Variable("who_answered", "Who answered", "category",
                 _labelled(WHO_LABELS, WHO_ANSWERED), note=NEVER_POOL),
        Variable("channel", "Channel used", "category", _labelled(CHANNEL_LABELS, tuple(CHANNELS))),
        Variable("status", "Response status", "category",
                 _labelled(STATUS_LABELS, tuple(STATUS_LABELS))),
        Variable("consent", "Agreed to take part", "flag", ((1, "Yes"), (0, "No"))),
        Variable("started_at", "When they started (UTC)", "datetime", measure="scale",
                 note=dates_note),
        Variable("completed_at", "When they finished (UTC)", "datetime", measure="scale",
                 note=dates_note),
    )
    return {v.name: v for v in variables}


def asked_if(question: Question, survey: Survey) -> str:
    """The condition under which ``question`` is asked, in words, or ""."""
    if question.show_if is None:
        return ""
    target = survey.question(question.show_if.question)
    answers = " or ".join(
        f"{code} ({localise(option.label, 'en')})" if (option := target.option(code)) else str(code)
        for code in sorted(question.show_if.codes))
    return f"{target.id} is {answers}"


_PART_LABELS = {"answer": "{}", "recording": "{} (recording)", "transcript": "{} (transcript)"}
_PART_NOTES = {
    "answer": "",
    "recording": "Which recording a spoken answer is (never its sound).",
    "transcript": "What staff wrote down from the spoken answer, with personal details "
                  "removed as from typed answers. Blank until someone does (the recording "
                  "column still names it).",
}


def _question_variables(question: Question, drop_free_text: bool) -> list[Variable]:
    label = question.label or question.id
    if question.type == "open":
        if drop_free_text:
            return []
        # Every open question takes a voice message (on the web, Telegram, in an
        # interview; ``record`` asks for one on a phone call too), so each has the
        # columns of a spoken answer.
        return [Variable(answer_column(question.id, part), _PART_LABELS[part].format(label),
                         "free_text", question=question, part=part, note=_PART_NOTES[part])
                for part in answer_parts(question)]
    if question.type == "number":
        return [Variable(answer_column(question.id), label, "number", measure="scale",
                         question=question)]
    values = tuple((o.code, localise(o.label, "en")) for o in question.options)
    missing = (NOT_SURE_CODE,) if any(o.not_sure for o in question.options) else ()
    measure = "ordinal" if question.type in ORDERED_TYPES else "nominal"
    note = f"{NOT_SURE_CODE} (Not sure) is a missing value." if missing else ""
    return [Variable(answer_column(question.id), label, "code", values, missing, measure,
                     question, note=note)]


def question_variables(survey: Survey, drop_free_text: bool = False) -> list[Variable]:
    """One variable per data question of ``survey`` (and per recording), in order."""
    return [variable for question in survey.questions if question.is_data
            for variable in _question_variables(question, drop_free_text)]




def domain_rule(domain: Domain) -> str:
    """How ``domain``'s score is made, in words, for the codebook and the dictionary."""
    count = len(domain.questions)
    words = [f"The {domain.score} of {count} items: {', '.join(domain.questions)}."]
    if domain.reverse:
        reverse = ", ".join(q for q in domain.questions if q in domain.reverse)
        words.append(f"Reverse-scored (lowest + highest code - code): {reverse}.")
    words.append(f"Not sure ({NOT_SURE_CODE}) counts as the middle of the scale."
                 if domain.not_sure == "midpoint" else f"Not sure ({NOT_SURE_CODE}) is missing.")
    words.append("A skipped or unasked item is missing.")
    words.append("Blank unless every item counts." if domain.needed == count else
                 f"Blank when fewer than {domain.needed} of the {count} items count.")
    return " ".join(words)


def domain_variables(survey: Survey) -> list[Variable]:
    """One variable per scored domain of ``survey``: ``dom_<id>``, its score."""
    found = []
    for domain in survey.domains:
        label = (f"Domain: {localise(domain.label, 'en')} "
                 f"({domain.score} of {len(domain.questions)} items)")
        found.append(Variable(
            domain_column(domain.id), label, "score", measure="scale", domain=domain,
            items=tuple(survey.question(q) for q in domain.questions),
            note=domain_rule(domain)))
    return found


def domain_waves(variable: Variable, waves: Sequence[str]) -> tuple[str, ...]:
    """The ``waves`` at which a domain variable is scored (those asking all its items)."""
    return tuple(w for w in waves if all(item.asked_at(w) for item in variable.items))


def wide_variables(survey: Survey, waves: Sequence[str], drop_free_text: bool = False,
                   shift_dates: bool = False) -> list[Variable]:
    """The columns of the wide layout: one row per participant and slot (timepoint or
    entry, its number, and whom it is about); the domain scores follow the questions.
    ``waves`` are the plan's timepoints and entry types, which the wave column labels."""
    return [*_context(shift_dates, waves).values(),
            *question_variables(survey, drop_free_text), *domain_variables(survey)]


ACROSS_CONTEXT = ("participant", "about", "person", "site", "respondent_type", "cohort",
                  "survey")


def has_change(variable: Variable, pair: tuple[str, str]) -> bool:
    """True for a question on an ordered scale that is asked at both of ``pair``."""
    question = variable.question
    return (question is not None and variable.part == "answer"
            and question.type in ORDERED_TYPES and all(question.asked_at(w) for w in pair))


def _at(variable: Variable, wave: str, occurrence: int | None) -> Variable:
    """``variable`` as its column at one timepoint (and pulse)."""
    where = wave if not occurrence else f"{wave} #{occurrence}"
    return replace(variable, name=paired_name(variable.name, wave, occurrence),
                   label=f"{variable.label} at {where}", wave=wave, occurrence=occurrence,
                   source=variable.name)


def _across(survey: Survey, drop_free_text: bool, shift_dates: bool,
            slots: Sequence[tuple[str, int | None]], waves: Sequence[str],
            pair: tuple[str, str] | None) -> list[Variable]:
    """Columns for one row per person (and linked person) across ``slots``: the
    context, each slot's who/channel/status/time, then each question and domain at
    every slot that asks it (with its change over ``pair``, when given)."""
    context = _context(shift_dates, waves)
    found = [context[name] for name in ACROSS_CONTEXT]
    for wave, occurrence in slots:
        found += [_at(context[name], wave, occurrence) for name in PER_WAVE]
    if pair is not None:
        found.append(Variable(
            "same_who_answered",
            f"The same kind of respondent answered at {pair[0]} and {pair[1]}",
            "flag", ((1, "Yes"), (0, "No")),
            note="Change columns are blank unless this is 1."))
    for variable in question_variables(survey, drop_free_text):
        assert variable.question is not None
        found += [_at(variable, wave, occurrence) for wave, occurrence in slots
                  if variable.question.asked_at(wave)]
        if pair is not None and has_change(variable, pair):
            found.append(Variable(
                change_name(variable.name),
                f"{variable.label}: change from {pair[0]} to {pair[1]}",
                "number", measure="scale", question=variable.question, part="change",
                source=variable.name,
                note=(f"{pair[1].capitalize()} code minus {pair[0]} code; higher codes are "
                      f"better answers. Blank when either is missing or Not sure "
                      f"({NOT_SURE_CODE}), or when different kinds of respondent answered.")))
    for variable in domain_variables(survey):
        scored = domain_waves(variable, [wave for wave, _ in slots])
        found += [_at(variable, wave, occurrence) for wave, occurrence in slots
                  if wave in scored]
        if pair is not None and all(wave in scored for wave in pair):
            found.append(replace(
                variable, name=change_name(variable.name),
                label=f"{variable.label}: change from {pair[0]} to {pair[1]}", part="change",
                source=variable.name,
                note=(f"{pair[1].capitalize()} score minus {pair[0]} score. Blank when "
                      "either is missing, or when different kinds of respondent answered.")))
    return found


def paired_variables(survey: Survey, pair: tuple[str, str], drop_free_text: bool = False,
                     shift_dates: bool = False) -> list[Variable]:
    """The columns of the paired layout: one row per participant (and linked person),
    the ``pair``'s first timepoint beside its second (baseline and exit by default),
    and the change."""
    return _across(survey, drop_free_text, shift_dates, [(wave, None) for wave in pair],
                   pair, pair)


def trajectory_variables(survey: Survey, slots: Sequence[tuple[str, int | None]],
                         drop_free_text: bool = False,
                         shift_dates: bool = False) -> list[Variable]:
    """The columns of the trajectory layout: one row per participant (and linked
    person), each question and domain at every one of ``slots`` (timepoint, pulse)."""
    return _across(survey, drop_free_text, shift_dates, slots,
                   list(dict.fromkeys(wave for wave, _ in slots)), None)


ENTRY_CONTEXT = ("participant", "about", "person", "site", "respondent_type", "cohort")
ENTRY_DETAILS = ("survey", "survey_version_id", "survey_version", "channel", "who_answered",
                 "status", "started_at", "completed_at")


def entry_variables(surveys: Sequence[Survey], entries: Sequence[str],
                    drop_free_text: bool = False, shift_dates: bool = False) -> list[Variable]:
    """The columns of the entries export: one row per journal or story entry (of the
    ``entries`` types), its type and number, how and when it came, and the answers of
    the entry ``surveys`` (a question two of them share is one column)."""
    context = _context(shift_dates, entries)
    found = [context[name] for name in ENTRY_CONTEXT]
    found += [replace(context["wave"], name="entry_type", label="Entry type (a journal, "
                      "a story)", source="wave"),
              replace(context["occurrence"], name="entry_number",
                      label="Entry number: the person's 1st, 2nd... entry of this type",
                      source="occurrence")]
    found += [context[name] for name in ENTRY_DETAILS]
    names = {variable.name for variable in found}
    for survey in surveys:
        for variable in question_variables(survey, drop_free_text):
            if variable.name not in names:
                names.add(variable.name)
                found.append(variable)
    return found
