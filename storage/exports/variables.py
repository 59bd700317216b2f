"""The variables an export holds, named and labelled once for every format.

The wide CSV, the XLSX sheets, the SPSS file, the codebook and the REDCap dictionary
all read the same ``Variable`` list, so a column is called the same and means the same
thing in every file. Names are the question ids of the survey YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.channel_table import CHANNELS
from bot.engine import NOT_SURE_CODE, RESPONDENT_TYPES, WAVES, WHO_ANSWERED
from bot.engine.model import Domain, Question, Survey, localise

# Scales whose codes are ordered so that a higher code is a better answer (scale3:
# 1 Unhappy, 2 OK, 3 Happy; agree5: 1 Strongly disagree ... 5 Strongly agree) and
# numbers. Only these get a change column in the paired export. Yes/no answers and
# choices are categories: evaluators cross-tabulate them instead.
ORDERED_TYPES = ("scale3", "agree5", "number")

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
    (code, number or text), the open question's "recording" or, in the paired
    layout, the "change". A paired column copies the wide column ``source`` in ``wave``.
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
        return {"recording": "recording", "change": "change"}.get(self.part, self.question.type)

    @property
    def is_free_text(self) -> bool:
        return self.kind == "free_text"


def _labelled(values: dict[str, str], keys: tuple[str, ...]) -> tuple[tuple[int | str, str], ...]:
    return tuple((key, values[key]) for key in keys)


def _context(shift_dates: bool) -> dict[str, Variable]:
    dates_note = SHIFTED if shift_dates else ""
    variables = (
        Variable("participant", "Participant code (pseudonymous)", "text"),
        Variable("site", "Site code", "text"),
        Variable("respondent_type", "Respondent type", "category",
                 _labelled(RESPONDENT_LABELS, RESPONDENT_TYPES)),
        Variable("cohort", "Cohort", "text"),
        Variable("survey", "Survey", "text"),
        Variable("wave", "Wave", "category", _labelled(WAVE_LABELS, WAVES)),
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


def _question_variables(question: Question, drop_free_text: bool) -> list[Variable]:
    label = question.label or question.id
    if question.type == "open":
        if drop_free_text:
            return []
        found = [Variable(question.id, label, "free_text", question=question)]
        if question.record:
            found.append(Variable(f"{question.id}_recording", f"{label} (recording)",
                                  "free_text", question=question, part="recording",
                                  note="The file name of a spoken answer."))
        return found
    if question.type == "number":
        return [Variable(question.id, label, "number", measure="scale", question=question)]
    values = tuple((o.code, localise(o.label, "en")) for o in question.options)
    missing = (NOT_SURE_CODE,) if any(o.not_sure for o in question.options) else ()
    measure = "ordinal" if question.type in ORDERED_TYPES else "nominal"
    note = f"{NOT_SURE_CODE} (Not sure) is a missing value." if missing else ""
    return [Variable(question.id, label, "code", values, missing, measure, question, note=note)]


def question_variables(survey: Survey, drop_free_text: bool = False) -> list[Variable]:
    """One variable per data question of ``survey`` (and per recording), in order."""
    return [variable for question in survey.questions if question.is_data
            for variable in _question_variables(question, drop_free_text)]


DOMAIN_PREFIX = "dom_"  # as content.loader.DOMAIN_PREFIX, which keeps the names apart


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
            DOMAIN_PREFIX + domain.id, label, "score", measure="scale", domain=domain,
            items=tuple(survey.question(q) for q in domain.questions),
            note=domain_rule(domain)))
    return found


def domain_waves(variable: Variable) -> tuple[str, ...]:
    """The waves at which a domain variable is scored (those asking all its items)."""
    return tuple(w for w in WAVES if all(item.asked_at(w) for item in variable.items))


def wide_variables(survey: Survey, drop_free_text: bool = False,
                   shift_dates: bool = False) -> list[Variable]:
    """The columns of the wide layout: one row per participant and wave; the domain
    scores follow the questions."""
    return [*_context(shift_dates).values(), *question_variables(survey, drop_free_text),
            *domain_variables(survey)]


PAIRED_CONTEXT = ("participant", "site", "respondent_type", "cohort", "survey")
PER_WAVE = ("who_answered", "channel", "status", "completed_at")


def paired_name(name: str, wave: str) -> str:
    """The paired column for ``name`` in ``wave``, such as ``know_sw_baseline``."""
    return f"{name}_{wave}"


def change_name(name: str) -> str:
    return f"{name}_change"


def has_change(variable: Variable) -> bool:
    """True for a question on an ordered scale that is asked at both waves."""
    question = variable.question
    return (question is not None and variable.part == "answer"
            and question.type in ORDERED_TYPES and all(question.asked_at(w) for w in WAVES))


def paired_variables(survey: Survey, drop_free_text: bool = False,
                     shift_dates: bool = False) -> list[Variable]:
    """The columns of the paired layout: one row per participant, baseline beside exit."""
    context = _context(shift_dates)
    found = [context[name] for name in PAIRED_CONTEXT]
    for wave in WAVES:
        found += [replace(context[name], name=paired_name(name, wave),
                          label=f"{context[name].label} at {wave}", wave=wave, source=name)
                  for name in PER_WAVE]
    found.append(Variable(
        "same_who_answered", "The same kind of respondent answered at baseline and exit",
        "flag", ((1, "Yes"), (0, "No")),
        note="Change columns are blank unless this is 1."))
    for variable in question_variables(survey, drop_free_text):
        assert variable.question is not None
        for wave in WAVES:
            if variable.question.asked_at(wave):
                found.append(replace(variable, name=paired_name(variable.name, wave),
                                     label=f"{variable.label} at {wave}", wave=wave,
                                     source=variable.name))
        if has_change(variable):
            found.append(Variable(
                change_name(variable.name), f"{variable.label}: change from baseline to exit",
                "number", measure="scale", question=variable.question, part="change",
                source=variable.name,
                note=("Exit code minus baseline code; higher codes are better answers. "
                      f"Blank when either is missing or Not sure ({NOT_SURE_CODE}), or "
                      "when different kinds of respondent answered.")))
    for variable in domain_variables(survey):
        waves = domain_waves(variable)
        found += [replace(variable, name=paired_name(variable.name, wave),
                          label=f"{variable.label} at {wave}", wave=wave, source=variable.name)
                  for wave in waves]
        if waves == WAVES:
            found.append(replace(
                variable, name=change_name(variable.name),
                label=f"{variable.label}: change from baseline to exit", part="change",
                source=variable.name,
                note=("Exit score minus baseline score. Blank when either is missing, or "
                      "when different kinds of respondent answered.")))
    return found
