"""Exports for the sites' evaluations: streamed, pseudonymised, labelled.

Every export follows the site's plan (``plan.ExportPlan``: its timepoints in order and
its entry types, such as a journal); ``wave`` is any of them. Formats
(``EXPORT_FORMATS``):

- ``long``: one row per answer, every survey of the site (or ``survey_id``'s), with
  the timepoint or entry type (``wave``), the pulse or entry number (``occurrence``),
  the survey version answered, and the linked person (``about``).
- ``wide``: one row per response: participant, timepoint (or entry), its number and
  whom it is about; a column per question. Its codebook (wording, codes, labels) is a
  second CSV, ``write_codebook``; the command line writes it beside the data as
  ``NAME.codebook.csv``.
- ``paired``: one row per participant (and linked person), each question at two
  timepoints (``pair``: baseline and exit by default) and the change for ordered
  scales (``variables.ORDERED_TYPES``); with its own codebook.
- ``trajectory``: one row per participant (and linked person), each question and
  domain score at every timepoint of the plan (and every pulse of a recurring one);
  with its own codebook.
- ``entries``: one row per journal or story entry (responses whose wave is an entry
  type of the plan): its type, number, channel, times and answers.
- ``xlsx``: a sheet per survey (wide), with (when no wave is chosen) a "paired" and a
  "trajectory" sheet per survey, an "Entries" sheet when the plan has entry types,
  and a "Codebook" sheet.
- ``sav``: SPSS, the wide layout, with variable labels, value labels and "Not sure"
  (code 9) declared user-missing.
- ``dictionary``: a REDCap data dictionary for the wide layout's fields; the timepoint
  is the REDCap event, a pulse's or entry's number its repeat instance.
- ``events``: REDCap's instrument designation CSV (``arm_num``, ``unique_event_name``,
  ``form``): the survey in each event (timepoint or entry type) that asks it.
- ``measures``: the site's outside measures (``bot.service.measures``), one row per
  participant, measure and period, by participant code; every survey, no wave.

A family member's or professional's answers about a person carry that person's code in
``about`` (blank when about themselves) and ``person`` (whom the answers are about: the
linked person, else the participant), so sorting or filtering by ``person`` puts a
person's own view beside their family's and professionals'; wide, paired and trajectory
rows are per participant *and* linked person, so a professional speaking about two
people has a row about each.

A survey with scored domains (``domains:`` in its YAML) gets a ``dom_<id>`` column
per domain beside the questions in ``wide``, ``xlsx`` and ``sav`` (scored from each
response's own answers by ``bot.engine.scoring``), one per timepoint and the change in
``paired``, one per timepoint in ``trajectory``, and a row each in the codebook and the
REDCap dictionary.

The surveys for individuals, families and professionals ask different questions, so
every format with a column per question except ``xlsx`` (a sheet each) and ``entries``
covers one survey: pass ``survey_id`` (``--survey``) unless the deployment has only one.

Privacy by default: participant codes only; no phone number, chat id or name is ever
selected; phone numbers, email and web addresses, postcodes, street addresses, NI
numbers and names typed into free text are replaced (``redaction``); try-out
participants never appear. ``drop_free_text`` leaves open answers and recordings out;
``shift_dates`` moves each participant's dates back by their own 0-364 days
(``Vault.date_shift_days``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import IO, Protocol

from sqlalchemy.orm import Session

from bot.engine.model import Survey

from ..crypto import Vault
from ..models import AuditEntry
from ..uow import Repository
from .describe import (
    CODEBOOK_COLUMNS,
    EVENT_COLUMNS,
    REDCAP_COLUMNS,
    codebook_rows,
    dictionary_rows,
    event_rows,
)
from .formats import Sheet, csv_chunks, sav_chunks, spreadsheet_safe, xlsx_chunks
from .measures import MEASURE_COLUMNS, MEASURE_VALUE_AT, measure_rows
from .plan import ExportPlan, PlanLike
from .records import (
    BATCH,
    LONG_COLUMNS,
    VALUE_CODE_AT,
    Scope,
    across_records,
    long_columns,
    long_rows,
    slots_present,
    wide_records,
)
from .variables import (
    ACROSS_CONTEXT,
    Variable,
    entry_variables,
    paired_variables,
    trajectory_variables,
    wide_variables,
)


class SurveyLibrary(Protocol):
    """The surveys an export describes (``content.loader.SurveyLibrary``): storage reads
    them through this, and never imports the content layer."""

    def get(self, survey_id: str) -> Survey: ...

    def for_respondent(self, respondent_type: str) -> Survey: ...

    def __iter__(self) -> Iterator[Survey]: ...

__all__ = [
    "CODEBOOK_COLUMNS", "CODEBOOK_FORMATS", "EXPORT_FORMATS", "LONG_COLUMNS",
    "ONE_SURVEY_FORMATS", "REDCAP_COLUMNS", "ExportError", "ExportPlan", "ExportStream",
    "PlanLike", "audit_export", "codebook_filename", "drain", "export_filename", "spreadsheet_safe",
    "stream_export", "write_codebook", "write_export",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Format name -> (media type, file extension).
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "long": ("text/csv", "csv"),
    "wide": ("text/csv", "csv"),
    "paired": ("text/csv", "csv"),
    "trajectory": ("text/csv", "csv"),
    "entries": ("text/csv", "csv"),
    "xlsx": (XLSX, "xlsx"),
    "sav": ("application/x-spss-sav", "sav"),
    "dictionary": ("text/csv", "csv"),
    "events": ("text/csv", "csv"),
    "measures": ("text/csv", "csv"),
}
# CSV formats that come with a codebook CSV (``write_codebook``).
CODEBOOK_FORMATS = ("wide", "paired", "trajectory")
# Formats with a column per question: one survey each.
ONE_SURVEY_FORMATS = ("wide", "paired", "trajectory", "sav", "dictionary", "events")
# Formats with a column per timepoint, which take no wave.
ACROSS_FORMATS = ("paired", "trajectory")


class ExportError(ValueError):
    """The export asked for cannot be made; the message says what to change."""


class ExportStream:
    """An export's bytes, made as they are read. ``rows`` is set once it is read to the end.

    Iterate it once, inside the unit of work whose session it reads (for Flask:
    ``stream_with_context``). ``pair`` is the paired export's two timepoints, for the
    audit line.
    """

    def __init__(self, chunks: Generator[bytes, None, int], fmt: str,
                 filename: str = "", pair: tuple[str, str] | None = None) -> None:
        self._chunks = chunks
        self.media_type = EXPORT_FORMATS[fmt][0]
        self.filename = filename
        self.pair = pair
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        self.rows = yield from self._chunks


def export_filename(site_code: str, fmt: str, survey_id: str | None = None,
                    wave: str | None = None, pair: tuple[str, str] | None = None) -> str:
    """The file name for an export, such as ``CAL-individual-wide-baseline.csv`` or
    ``CAL-individual-paired-baseline-to-3-month.csv``."""
    parts = [site_code, survey_id or "all", fmt, *([wave] if wave else []),
             *([f"{pair[0]}-to-{pair[1]}"] if pair else [])]
    return "-".join(parts) + "." + EXPORT_FORMATS[fmt][1]


def codebook_filename(filename: str) -> str:
    """The codebook beside ``filename``: ``data.csv`` -> ``data.codebook.csv``."""
    stem, dot, extension = filename.rpartition(".")
    return f"{stem}.codebook.{extension}" if dot else f"{filename}.codebook.csv"


def _survey(surveys: SurveyLibrary, fmt: str, survey_id: str | None) -> Survey | None:
    """The one survey ``fmt`` covers (None: every survey), or a clear ExportError."""
    names = ", ".join(s.id for s in surveys)
    if survey_id:
        try:
            return surveys.get(survey_id)
        except KeyError:
            raise ExportError(f"there is no survey {survey_id!r} (there are: {names})") from None
    if fmt not in ONE_SURVEY_FORMATS:
        return None
    only = list(surveys)
    if len(only) == 1:
        return only[0]
    raise ExportError(f"the {fmt} export has a column per question and the surveys ask "
                      f"different questions: choose one survey ({names})")


def default_pair(plan: ExportPlan) -> tuple[str, str]:
    """The paired export's timepoints when none are chosen: baseline and exit, or the
    plan's first and last timepoints when it has not both."""
    if "baseline" in plan.timepoints and "exit" in plan.timepoints:
        return "baseline", "exit"
    return plan.timepoints[0], plan.timepoints[-1]


def _check(fmt: str, wave: str | None, plan: ExportPlan,
           pair: tuple[str | None, str | None]) -> tuple[str, str] | None:
    """Refuse what cannot be made, naming the plan's timepoints; the paired export's
    two timepoints (None for any other format)."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r} (use one of: {', '.join(EXPORT_FORMATS)})")
    if wave is not None and wave not in plan.waves:
        raise ExportError(f"unknown timepoint {wave!r}: this site's plan has "
                          f"{plan.describe()}")
    if fmt in ACROSS_FORMATS and wave:
        raise ExportError(f"the {fmt} export puts timepoints side by side: leave out the "
                          "wave" + (" (choose two with from and to)" if fmt == "paired" else ""))
    if fmt == "measures" and wave:
        raise ExportError("the measures export covers periods, not waves: leave out the wave")
    if fmt == "entries":
        if not plan.entries:
            raise ExportError("this site's plan has no entry types (a journal, a story) "
                              f"to export: it has {plan.describe()}")
        if wave and wave not in plan.entries:
            raise ExportError(f"{wave!r} is a timepoint, not an entry type: the entries "
                              f"export takes one of {', '.join(plan.entries)}")
    if fmt != "paired":
        if any(pair):
            raise ExportError("only the paired export takes from and to timepoints")
        return None
    start, end = pair
    default = default_pair(plan)
    chosen = (start or default[0], end or default[1])
    for name in chosen:
        if name not in plan.timepoints:
            raise ExportError(f"{name!r} is not a timepoint of this site's plan: choose "
                              f"from and to among {', '.join(plan.timepoints)}")
    if chosen[0] == chosen[1]:
        raise ExportError(f"from and to are both {chosen[0]!r}: choose two timepoints")
    return chosen


def _scope(scope: Scope, fmt: str, plan: ExportPlan,
           pair: tuple[str, str] | None) -> Scope:
    """``scope`` limited to the waves ``fmt`` reads: the pair, the plan's timepoints
    (trajectory) or its entry types (entries)."""
    if fmt == "paired" and pair:
        return replace(scope, waves=pair)
    if fmt == "trajectory":
        return replace(scope, waves=plan.timepoints)
    if fmt == "entries":
        return replace(scope, waves=plan.entries)
    return scope


def _rows(records: Iterator[dict[str, object]],
          variables: list[Variable]) -> Iterator[list[object]]:
    """Each record as a row of ``variables``' cells (a renamed column reads its source)."""
    for record in records:
        yield [record[v.source or v.name] for v in variables]


def _across_rows(session: Session, survey: Survey, variables: list[Variable], scope: Scope,
                 batch: int, drop_free_text: bool, shift_dates: bool, plan: ExportPlan,
                 pair: tuple[str, str] | None) -> Iterator[list[object]]:
    """The paired (``pair``) or trajectory rows: one per participant and linked person."""
    wide = wide_variables(survey, plan.waves, drop_free_text, shift_dates)
    for record in across_records(wide_records(session, wide, scope, batch), variables,
                                 ACROSS_CONTEXT, pair):
        yield [record[v.name] for v in variables]


def _trajectory(session: Session, survey: Survey, scope: Scope, plan: ExportPlan,
                drop_free_text: bool, shift_dates: bool) -> list[Variable]:
    """The trajectory's columns: every timepoint of the plan, each recurring one's
    pulses as answered (one set of columns for a timepoint not yet answered)."""
    present = slots_present(session, scope)
    slots: list[tuple[str, int | None]] = []
    for wave in plan.timepoints:
        numbers = sorted(n for w, n in present if w == wave)
        slots += [(wave, n) for n in numbers or [0]]
    return trajectory_variables(survey, slots, drop_free_text, shift_dates)


def _trajectory_chunks(session: Session, survey: Survey, scope: Scope, batch: int,
                       drop_free_text: bool, shift_dates: bool,
                       plan: ExportPlan) -> Generator[bytes, None, int]:
    """The trajectory CSV: its columns are read from the data when it is first read."""
    variables = _trajectory(session, survey, scope, plan, drop_free_text, shift_dates)
    rows = _across_rows(session, survey, variables, scope, batch, drop_free_text,
                        shift_dates, plan, None)
    return (yield from csv_chunks([v.name for v in variables], rows))


def _entry_surveys(surveys: SurveyLibrary, plan: ExportPlan, scope: Scope) -> list[Survey]:
    """The surveys of the entry types an entries export (or sheet) covers: the chosen
    one's, or every entry type's."""
    names = (scope.wave,) if scope.wave in plan.entries else plan.entries
    chosen = dict.fromkeys(plan.entry_surveys[name] for name in names)
    if scope.survey_id:
        chosen = dict.fromkeys(s for s in chosen if s == scope.survey_id)
    found = []
    for survey_id in chosen:
        try:
            found.append(surveys.get(survey_id))
        except KeyError:
            raise ExportError(f"the entry survey {survey_id!r} is not one of this "
                              "deployment's surveys") from None
    return found


def _entry_codebook(entries: list[Survey], variables: list[Variable],
                    plan: ExportPlan) -> Iterator[list[object]]:
    """The entries' codebook: the context once, then each entry survey's questions."""
    yield from codebook_rows(entries[0], [v for v in variables if v.question is None],
                             plan.entries)
    done: set[str] = set()
    for survey in entries:
        own = [v for v in variables if v.question is not None and v.name not in done
               and v.question.id in {q.id for q in survey.questions}]
        done.update(v.name for v in own)
        yield from codebook_rows(survey, own, plan.entries)


def _xlsx_sheets(session: Session, surveys: list[Survey], scope: Scope, batch: int,
                 drop_free_text: bool, shift_dates: bool, plan: ExportPlan,
                 entries: list[Survey]) -> Iterator[Sheet]:
    codebook: list[list[object]] = []
    for survey in surveys:
        survey_scope = replace(scope, survey_id=survey.id)
        wide = wide_variables(survey, plan.waves, drop_free_text, shift_dates)
        yield Sheet(survey.id[:31], [v.name for v in wide],
                    _rows(wide_records(session, wide, survey_scope, batch), wide))
        codebook += [[survey.id[:31], *row]
                     for row in codebook_rows(survey, wide, plan.waves)]
        if scope.wave is not None:
            continue
        pair = default_pair(plan)
        if pair[0] != pair[1]:  # a plan of one timepoint has nothing to pair
            title = f"{survey.id[:24]} paired"
            paired = paired_variables(survey, pair, drop_free_text, shift_dates)
            yield Sheet(title, [v.name for v in paired],
                        _across_rows(session, survey, paired,
                                     replace(survey_scope, waves=pair), batch,
                                     drop_free_text, shift_dates, plan, pair),
                        counted=False)
            codebook += [[title, *row] for row in codebook_rows(survey, paired, plan.waves)]
        title = f"{survey.id[:20]} trajectory"
        along = replace(survey_scope, waves=plan.timepoints)
        trajectory = _trajectory(session, survey, along, plan, drop_free_text, shift_dates)
        yield Sheet(title, [v.name for v in trajectory],
                    _across_rows(session, survey, trajectory, along, batch, drop_free_text,
                                 shift_dates, plan, None), counted=False)
        codebook += [[title, *row] for row in codebook_rows(survey, trajectory, plan.waves)]
    if entries and (scope.wave is None or scope.wave in plan.entries):
        variables = entry_variables(entries, plan.entries, drop_free_text, shift_dates)
        records = wide_records(session, variables,
                               replace(scope, survey_id=None, waves=plan.entries), batch)
        yield Sheet("Entries", [v.name for v in variables], _rows(records, variables),
                    counted=False)
        codebook += [["Entries", *row] for row in _entry_codebook(entries, variables, plan)]
    yield Sheet("Codebook", ["sheet", *CODEBOOK_COLUMNS], codebook, counted=False)


def stream_export(session: Session, surveys: SurveyLibrary, fmt: str, site_code: str,
                  wave: str | None = None, drop_free_text: bool = False,
                  shift_dates: bool = False, survey_id: str | None = None, *,
                  vault: Vault | None = None, batch: int = BATCH,
                  plan: PlanLike | None = None, start: str | None = None,
                  end: str | None = None) -> ExportStream:
    """The export as a stream of bytes; nothing is read until it is iterated.

    Every choice is checked here, before a byte is made, so a caller can answer a bad
    request with the ExportError's message. ``plan`` is the site's plan (``None``: the
    default, baseline and exit); ``wave`` any of its timepoints or entry types;
    ``start`` and ``end`` the paired export's two timepoints. ``shift_dates`` needs
    the ``vault`` (its key derives each participant's shift).
    """
    chosen_plan = ExportPlan.of(plan) if plan is not None else ExportPlan()
    pair = _check(fmt, wave, chosen_plan, (start, end))
    # A measure is about a person, not a survey: the measures export has every person's.
    survey = None if fmt == "measures" else _survey(surveys, fmt, survey_id)
    if shift_dates and vault is None:
        raise ExportError("shifting dates needs the vault, whose key derives each shift")
    scope = _scope(Scope(site_code, wave, survey.id if survey else None, drop_free_text,
                         vault.date_shift_days if shift_dates and vault else None,
                         order=chosen_plan.waves), fmt, chosen_plan, pair)
    shown_pair = pair if pair and (start or end) else None
    filename = export_filename(site_code, fmt, survey.id if survey else None, wave,
                               shown_pair)
    chunks = _chunks(session, surveys, fmt, survey, scope, chosen_plan, pair, batch,
                     drop_free_text, shift_dates, site_code)
    return ExportStream(chunks, fmt, filename, pair)


def _chunks(session: Session, surveys: SurveyLibrary, fmt: str, survey: Survey | None,
            scope: Scope, plan: ExportPlan, pair: tuple[str, str] | None, batch: int,
            drop_free_text: bool, shift_dates: bool,
            site_code: str) -> Generator[bytes, None, int]:
    """The bytes of a checked export (``stream_export``)."""
    if fmt == "long":
        return csv_chunks(long_columns(drop_free_text), long_rows(session, scope, batch),
                          numeric=(VALUE_CODE_AT,))
    if fmt == "measures":
        return csv_chunks(MEASURE_COLUMNS, measure_rows(session, scope, batch),
                          numeric=(MEASURE_VALUE_AT,))
    if fmt in ("entries", "xlsx"):
        entries = (_entry_surveys(surveys, plan, scope)
                   if plan.entries and (fmt == "entries" or scope.survey_id is None)
                   else [])
        if fmt == "entries":
            variables = entry_variables(entries, plan.entries, drop_free_text, shift_dates)
            return csv_chunks([v.name for v in variables],
                              _rows(wide_records(session, variables, scope, batch),
                                    variables))
        chosen = [survey] if survey else list(surveys)
        return xlsx_chunks(_xlsx_sheets(session, chosen, scope, batch, drop_free_text,
                                        shift_dates, plan, entries))
    assert survey is not None, "one-survey formats always have a survey"
    if fmt == "wide":
        wide = wide_variables(survey, plan.waves, drop_free_text, shift_dates)
        return csv_chunks([v.name for v in wide],
                          _rows(wide_records(session, wide, scope, batch), wide))
    if fmt == "paired":
        assert pair is not None, "_check chose the pair"
        paired = paired_variables(survey, pair, drop_free_text, shift_dates)
        return csv_chunks([v.name for v in paired], _across_rows(
            session, survey, paired, scope, batch, drop_free_text, shift_dates, plan, pair))
    if fmt == "trajectory":
        return _trajectory_chunks(session, survey, scope, batch, drop_free_text,
                                  shift_dates, plan)
    if fmt == "sav":
        wide = wide_variables(survey, plan.waves, drop_free_text, shift_dates)
        # SPSS keeps notes as lines of at most 80 characters.
        notes = [f"nsw-feedback export: site {site_code}, survey {survey.id}."[:80],
                 f"Timepoint: {scope.wave or 'all'}. Times are UTC.",
                 "Not sure (code 9) is declared user-missing.",
                 "about: the person a family member or professional answered about.",
                 "person: whom the answers are about (about, else the participant)."]
        notes += ["Dates are shifted per participant."] if shift_dates else []
        notes += ["Free text was left out."] if drop_free_text else []
        return sav_chunks(wide, wide_records(session, wide, scope, batch),
                          f"{site_code} {survey.id}", notes)
    if fmt == "events":
        default = surveys.for_respondent(survey.respondent_type).id
        return csv_chunks(EVENT_COLUMNS, event_rows(survey, plan, default))
    wide = wide_variables(survey, plan.waves, drop_free_text, shift_dates)
    return csv_chunks(REDCAP_COLUMNS, dictionary_rows(survey, wide, plan.timepoints))


def write_export(session: Session, surveys: SurveyLibrary, fmt: str, out: IO[bytes],
                 site_code: str, wave: str | None = None, drop_free_text: bool = False,
                 shift_dates: bool = False, survey_id: str | None = None, *,
                 vault: Vault | None = None, plan: PlanLike | None = None,
                 start: str | None = None, end: str | None = None) -> int:
    """Write the export to ``out`` as it is made; return the rows written.

    Rows are answers (long), responses (wide, xlsx, sav), participants and linked
    persons (paired, trajectory), entries, fields (dictionary), events or measures.
    Raises ExportError before writing anything.
    """
    stream = stream_export(session, surveys, fmt, site_code, wave, drop_free_text,
                           shift_dates, survey_id, vault=vault, plan=plan, start=start,
                           end=end)
    return drain(stream, out)


def drain(stream: ExportStream, out: IO[bytes]) -> int:
    """Write ``stream`` to ``out``; return its rows."""
    for chunk in stream:
        out.write(chunk)
    return stream.rows


def write_codebook(surveys: SurveyLibrary, fmt: str, out: IO[bytes],
                   survey_id: str | None = None, drop_free_text: bool = False,
                   shift_dates: bool = False, *, session: Session | None = None,
                   site_code: str = "", plan: PlanLike | None = None,
                   start: str | None = None, end: str | None = None) -> int:
    """Write the codebook of a ``wide``, ``paired`` or ``trajectory`` CSV to ``out``;
    return its rows.

    One row per variable and value code: name, label, question wording, type,
    timepoints, when it is asked, code, code label, whether the code is missing, and
    notes. The trajectory's columns depend on the pulses answered, so its codebook
    reads the ``session`` for the site ``site_code``.
    """
    if fmt not in CODEBOOK_FORMATS:
        raise ExportError(f"only the {', '.join(CODEBOOK_FORMATS)} exports have a "
                          "codebook file")
    chosen_plan = ExportPlan.of(plan) if plan is not None else ExportPlan()
    pair = _check(fmt, None, chosen_plan, (start, end))
    survey = _survey(surveys, fmt, survey_id)
    assert survey is not None, "codebook formats always have a survey"
    if fmt == "wide":
        variables = wide_variables(survey, chosen_plan.waves, drop_free_text, shift_dates)
    elif fmt == "paired":
        assert pair is not None, "_check chose the pair"
        variables = paired_variables(survey, pair, drop_free_text, shift_dates)
    else:
        if session is None:
            raise ExportError("the trajectory's codebook reads which pulses were answered: "
                              "it needs the database session")
        scope = _scope(Scope(site_code, survey_id=survey.id), fmt, chosen_plan, None)
        variables = _trajectory(session, survey, scope, chosen_plan, drop_free_text,
                                shift_dates)
    rows = codebook_rows(survey, variables, chosen_plan.waves)
    return drain(ExportStream(csv_chunks(CODEBOOK_COLUMNS, rows), fmt), out)


def audit_export(repo: Repository, actor: str, site_code: str, fmt: str, rows: int | None,
                 wave: str | None = None, drop_free_text: bool = False,
                 shift_dates: bool = False, survey_id: str | None = None,
                 pair: tuple[str, str] | None = None) -> AuditEntry:
    """Write the export's audit line: who (``actor``), when, the format and filters
    (and the paired export's two timepoints, when they were chosen)."""
    chosen = {"from": pair[0], "to": pair[1]} if pair else {}
    return repo.audit(actor, "export", site_code, format=fmt, wave=wave or "all",
                      survey=survey_id or "all", drop_free_text=drop_free_text,
                      shift_dates=shift_dates, rows=rows, **chosen)
