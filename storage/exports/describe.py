"""Describing the variables: the codebook, and the REDCap data dictionary.

Both are made from the survey definitions alone (no answers), from the same
``Variable`` list as the data, so they can never disagree with the file they describe.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.engine.model import Survey, localise

from .plan import ExportPlan
from .variables import Variable, asked_if, domain_waves

CODEBOOK_COLUMNS = ("variable", "label", "question", "type", "waves", "asked_if", "value",
                    "value_label", "missing", "notes")


def _waves(variable: Variable, waves: Sequence[str]) -> str:
    """The timepoints (of ``waves``) at which ``variable`` is asked or scored."""
    if variable.wave:
        return f"{variable.wave} #{variable.occurrence}" if variable.occurrence else variable.wave
    if variable.domain is not None:
        return " ".join(domain_waves(variable, waves))
    if variable.question is None:
        return ""
    return " ".join(w for w in waves if variable.question.asked_at(w))


def _domain_items(variable: Variable) -> str:
    """What a domain variable is made of, for the codebook's question column."""
    assert variable.domain is not None
    made = f"{variable.domain.score.capitalize()} of " + ", ".join(variable.domain.questions)
    return f"Change over the pair: {made}" if variable.part == "change" else made


def codebook_rows(survey: Survey, variables: list[Variable],
                  waves: Sequence[str]) -> Iterator[list[object]]:
    """One row per variable and value (one row for a variable without codes); the
    ``waves`` column names the plan's timepoints (``waves``) asking each question."""
    for variable in variables:
        question = variable.question
        wording = (localise(question.text, "en") if question else
                   _domain_items(variable) if variable.domain else "")
        common: list[object] = [
            variable.name, variable.label, wording, variable.type_name,
            _waves(variable, waves), asked_if(question, survey) if question else "",
        ]
        if not variable.values:
            yield [*common, "", "", "", variable.note]
            continue
        for value, label in variable.values:
            yield [*common, value, label, "yes" if value in variable.missing else "",
                   variable.note]


# REDCap's data dictionary header, exactly as REDCap writes and reads it.
REDCAP_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min",
    "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)",
    "Matrix Group Name", "Matrix Ranking?", "Field Annotation",
)
# The timepoint is the REDCap event (baseline_arm_1, 3_month_arm_1), and a pulse's or
# entry's number its repeat instance (redcap_repeat_instance): neither is a field.
EVENT_VARIABLES = ("wave", "occurrence")


def branching_logic(variable: Variable) -> str:
    """The question's ``show_if`` in REDCap's logic, such as ``[know_sw] = '1'``."""
    question = variable.question
    if question is None or question.show_if is None:
        return ""
    target = question.show_if.question
    return " or ".join(f"[{target}] = '{code}'" for code in sorted(question.show_if.codes))


def _field_type(variable: Variable) -> tuple[str, str]:
    """(REDCap field type, text validation) for ``variable``."""
    if variable.kind in ("code", "category"):
        return "radio", ""
    if variable.kind == "flag":
        return "yesno", ""
    if variable.kind == "datetime":
        return "text", "datetime_seconds_ymd"
    if variable.kind == "number":
        return "text", "integer"
    if variable.kind == "score":
        return "text", "number"
    if variable.is_free_text and variable.part in ("answer", "transcript"):
        return "notes", ""
    return "text", ""


def dictionary_rows(survey: Survey, variables: list[Variable],
                    waves: Sequence[str]) -> Iterator[list[object]]:
    """One REDCap field per variable of the wide layout, the participant code first.

    The instrument is named after the survey. Free text is flagged as an identifier,
    so REDCap's de-identified exports leave it out. Codes are REDCap's raw values.
    The annotation names the plan's timepoints (``waves``) asking each field.
    """
    first_question = True
    for variable in variables:
        if variable.name in EVENT_VARIABLES:
            continue
        question = variable.question
        field_type, validation = _field_type(variable)
        choices = " | ".join(f"{code}, {label}" for code, label in variable.values)
        if field_type == "yesno":
            choices = ""  # REDCap's own yes/no field is 1 Yes, 0 No, as the data is
        section = ""
        if question is not None and first_question:
            section, first_question = localise(survey.title, "en"), False
        annotation = []
        if question is not None:
            annotation += [f"{variable.label}.", f"Asked at: {_waves(variable, waves)}."]
        elif variable.domain is not None:
            annotation += [f"Scored at: {_waves(variable, waves)}."]
        if variable.note:
            annotation.append(variable.note)
        yield [
            variable.name, survey.id, section, field_type,
            localise(question.text, "en") if question and variable.part == "answer"
            else variable.label,
            choices, "", validation,
            "" if question is None or question.minimum is None else question.minimum,
            "" if question is None or question.maximum is None else question.maximum,
            "y" if variable.is_free_text else "", branching_logic(variable), "", "", "", "",
            "", " ".join(annotation),
        ]


# REDCap's instrument designation file (Designate Instruments for My Events: upload).
EVENT_COLUMNS = ("arm_num", "unique_event_name", "form")


def event_name(wave: str) -> str:
    """The REDCap unique event name for a timepoint: ``3-month`` -> ``3_month_arm_1``
    (REDCap makes it from an event called ``3_month`` in arm 1)."""
    return f"{wave.replace('-', '_')}_arm_1"


def event_rows(survey: Survey, plan: ExportPlan, default: str) -> Iterator[list[object]]:
    """The survey's instrument in each event that asks it: one per timepoint or entry
    type of the ``plan`` (``ExportPlan.asks``; ``default`` is the deployment's survey
    for the survey's respondent type)."""
    for wave in plan.waves:
        if plan.asks(survey, wave, default):
            yield [1, event_name(wave), survey.id]
