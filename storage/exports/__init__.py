"""Exports for the sites' evaluations: streamed, pseudonymised, labelled.

Formats (``EXPORT_FORMATS``):

- ``long``: one row per answer, every survey of the site (or ``survey_id``'s).
- ``wide``: one row per participant and wave, a column per question. Its codebook
  (wording, codes, labels) is a second CSV, ``write_codebook``; the command line
  writes it beside the data as ``NAME.codebook.csv``.
- ``paired``: one row per participant, each question at baseline and exit, and the
  change for ordered scales (``variables.ORDERED_TYPES``); with its own codebook.
- ``xlsx``: a sheet per survey (wide), a "<survey> paired" sheet per survey (when no
  wave is chosen) and a "Codebook" sheet.
- ``sav``: SPSS, the wide layout, with variable labels, value labels and "Not sure"
  (code 9) declared user-missing.
- ``dictionary``: a REDCap data dictionary for the wide layout's fields.
- ``measures``: the site's outside measures (``bot.service.measures``), one row per
  participant, measure and period, by participant code; every survey, no wave.

A survey with scored domains (``domains:`` in its YAML) gets a ``dom_<id>`` column
per domain beside the questions in ``wide``, ``xlsx`` and ``sav`` (scored from each
response's own answers by ``bot.engine.scoring``), ``dom_<id>_baseline``,
``dom_<id>_exit`` and ``dom_<id>_change`` in ``paired``, and a row each in the
codebook and the REDCap dictionary.

The surveys for individuals, families and professionals ask different questions, so
every format with a column per question except ``xlsx`` (a sheet each) covers one
survey: pass ``survey_id`` (``--survey``) unless the deployment has only one.

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

from bot.engine import WAVES
from bot.engine.model import Survey

from ..crypto import Vault
from ..models import AuditEntry
from ..uow import Repository
from .describe import CODEBOOK_COLUMNS, REDCAP_COLUMNS, codebook_rows, dictionary_rows
from .formats import Sheet, csv_chunks, sav_chunks, spreadsheet_safe, xlsx_chunks
from .measures import MEASURE_COLUMNS, MEASURE_VALUE_AT, measure_rows
from .records import (
    BATCH,
    LONG_COLUMNS,
    VALUE_CODE_AT,
    Scope,
    long_columns,
    long_rows,
    paired_records,
    wide_records,
)
from .variables import Variable, paired_variables, wide_variables


class SurveyLibrary(Protocol):
    """The surveys an export describes (``content.loader.SurveyLibrary``): storage reads
    them through this, and never imports the content layer."""

    def get(self, survey_id: str) -> Survey: ...

    def __iter__(self) -> Iterator[Survey]: ...

__all__ = [
    "CODEBOOK_COLUMNS", "CODEBOOK_FORMATS", "EXPORT_FORMATS", "LONG_COLUMNS",
    "ONE_SURVEY_FORMATS", "REDCAP_COLUMNS", "ExportError", "ExportStream", "audit_export",
    "codebook_filename", "export_filename", "spreadsheet_safe", "stream_export",
    "write_codebook", "write_export",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Format name -> (media type, file extension).
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "long": ("text/csv", "csv"),
    "wide": ("text/csv", "csv"),
    "paired": ("text/csv", "csv"),
    "xlsx": (XLSX, "xlsx"),
    "sav": ("application/x-spss-sav", "sav"),
    "dictionary": ("text/csv", "csv"),
    "measures": ("text/csv", "csv"),
}
# CSV formats that come with a codebook CSV (``write_codebook``).
CODEBOOK_FORMATS = ("wide", "paired")
# Formats with a column per question: one survey each.
ONE_SURVEY_FORMATS = ("wide", "paired", "sav", "dictionary")


class ExportError(ValueError):
    """The export asked for cannot be made; the message says what to change."""


class ExportStream:
    """An export's bytes, made as they are read. ``rows`` is set once it is read to the end.

    Iterate it once, inside the unit of work whose session it reads (for Flask:
    ``stream_with_context``).
    """

    def __init__(self, chunks: Generator[bytes, None, int], fmt: str,
                 filename: str = "") -> None:
        self._chunks = chunks
        self.media_type = EXPORT_FORMATS[fmt][0]
        self.filename = filename
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        self.rows = yield from self._chunks


def export_filename(site_code: str, fmt: str, survey_id: str | None = None,
                    wave: str | None = None) -> str:
    """The file name for an export, such as ``CAL-individual-wide-baseline.csv``."""
    parts = [site_code, survey_id or "all", fmt, *([wave] if wave else [])]
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


def _check(fmt: str, wave: str | None) -> None:
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r} (use one of: {', '.join(EXPORT_FORMATS)})")
    if wave is not None and wave not in WAVES:
        raise ExportError(f"unknown wave {wave!r} (use one of: {', '.join(WAVES)})")
    if fmt == "paired" and wave:
        raise ExportError("the paired export puts baseline beside exit: leave out the wave")
    if fmt == "measures" and wave:
        raise ExportError("the measures export covers periods, not waves: leave out the wave")


def _wide_rows(session: Session, variables: list[Variable], scope: Scope,
               batch: int) -> Iterator[list[object]]:
    for record in wide_records(session, variables, scope, batch):
        yield [record[v.name] for v in variables]


def _paired_rows(session: Session, survey: Survey, scope: Scope, batch: int,
                 drop_free_text: bool, shift_dates: bool) -> Iterator[list[object]]:
    wide = wide_variables(survey, drop_free_text, shift_dates)
    paired = paired_variables(survey, drop_free_text, shift_dates)
    for record in paired_records(wide_records(session, wide, scope, batch), paired):
        yield [record[v.name] for v in paired]


def _xlsx_sheets(session: Session, surveys: list[Survey], scope: Scope, batch: int,
                 drop_free_text: bool, shift_dates: bool) -> Iterator[Sheet]:
    codebook: list[list[object]] = []
    for survey in surveys:
        survey_scope = replace(scope, survey_id=survey.id)
        wide = wide_variables(survey, drop_free_text, shift_dates)
        yield Sheet(survey.id[:31], [v.name for v in wide],
                    _wide_rows(session, wide, survey_scope, batch))
        codebook += [[survey.id[:31], *row] for row in codebook_rows(survey, wide)]
        if scope.wave is None:
            title = f"{survey.id[:24]} paired"
            paired = paired_variables(survey, drop_free_text, shift_dates)
            yield Sheet(title, [v.name for v in paired],
                        _paired_rows(session, survey, survey_scope, batch, drop_free_text,
                                     shift_dates), counted=False)
            codebook += [[title, *row] for row in codebook_rows(survey, paired)]
    yield Sheet("Codebook", ["sheet", *CODEBOOK_COLUMNS], codebook, counted=False)


def _dictionary(survey: Survey, drop_free_text: bool,
                shift_dates: bool) -> Generator[bytes, None, int]:
    variables = wide_variables(survey, drop_free_text, shift_dates)
    return csv_chunks(REDCAP_COLUMNS, dictionary_rows(survey, variables))


def stream_export(session: Session, surveys: SurveyLibrary, fmt: str, site_code: str,
                  wave: str | None = None, drop_free_text: bool = False,
                  shift_dates: bool = False, survey_id: str | None = None, *,
                  vault: Vault | None = None, batch: int = BATCH) -> ExportStream:
    """The export as a stream of bytes; nothing is read until it is iterated.

    Every choice is checked here, before a byte is made, so a caller can answer a bad
    request with the ExportError's message. ``shift_dates`` needs the ``vault`` (its
    key derives each participant's shift).
    """
    _check(fmt, wave)
    # A measure is about a person, not a survey: the measures export has every person's.
    survey = None if fmt == "measures" else _survey(surveys, fmt, survey_id)
    if shift_dates and vault is None:
        raise ExportError("shifting dates needs the vault, whose key derives each shift")
    scope = Scope(site_code, wave, survey.id if survey else None, drop_free_text,
                  vault.date_shift_days if shift_dates and vault else None,
                  vault.decrypt if vault else None)
    filename = export_filename(site_code, fmt, survey.id if survey else None, wave)
    chunks: Generator[bytes, None, int]
    if fmt == "long":
        chunks = csv_chunks(long_columns(drop_free_text), long_rows(session, scope, batch),
                            numeric=(VALUE_CODE_AT,))
    elif fmt == "measures":
        chunks = csv_chunks(MEASURE_COLUMNS, measure_rows(session, scope, batch),
                            numeric=(MEASURE_VALUE_AT,))
    elif fmt == "xlsx":
        chosen = [survey] if survey else list(surveys)
        chunks = xlsx_chunks(_xlsx_sheets(session, chosen, scope, batch, drop_free_text,
                                          shift_dates))
    else:
        assert survey is not None, "one-survey formats always have a survey"
        if fmt == "wide":
            wide = wide_variables(survey, drop_free_text, shift_dates)
            chunks = csv_chunks([v.name for v in wide],
                                _wide_rows(session, wide, scope, batch))
        elif fmt == "paired":
            paired = paired_variables(survey, drop_free_text, shift_dates)
            chunks = csv_chunks([v.name for v in paired], _paired_rows(
                session, survey, scope, batch, drop_free_text, shift_dates))
        elif fmt == "sav":
            wide = wide_variables(survey, drop_free_text, shift_dates)
            notes = [f"nsw-feedback export: site {site_code}, survey {survey.id}, "
                     f"wave {wave or 'all'}. Times are UTC.",
                     "Not sure (code 9) is declared user-missing."]
            notes += ["Dates are shifted per participant."] if shift_dates else []
            notes += ["Free text was left out."] if drop_free_text else []
            chunks = sav_chunks(wide, wide_records(session, wide, scope, batch),
                                f"{site_code} {survey.id}", notes)
        else:
            chunks = _dictionary(survey, drop_free_text, shift_dates)
    return ExportStream(chunks, fmt, filename)


def write_export(session: Session, surveys: SurveyLibrary, fmt: str, out: IO[bytes],
                 site_code: str, wave: str | None = None, drop_free_text: bool = False,
                 shift_dates: bool = False, survey_id: str | None = None, *,
                 vault: Vault | None = None) -> int:
    """Write the export to ``out`` as it is made; return the rows written.

    Rows are answers (long), participant-waves (wide, xlsx, sav), participants
    (paired), fields (dictionary) or measures. Raises ExportError before writing anything.
    """
    stream = stream_export(session, surveys, fmt, site_code, wave, drop_free_text,
                           shift_dates, survey_id, vault=vault)
    return _drain(stream, out)


def _drain(stream: ExportStream, out: IO[bytes]) -> int:
    for chunk in stream:
        out.write(chunk)
    return stream.rows


def write_codebook(surveys: SurveyLibrary, fmt: str, out: IO[bytes],
                   survey_id: str | None = None, drop_free_text: bool = False,
                   shift_dates: bool = False) -> int:
    """Write the codebook of a ``wide`` or ``paired`` CSV to ``out``; return its rows.

    One row per variable and value code: name, label, question wording, type, waves,
    when it is asked, code, code label, whether the code is missing, and notes.
    """
    if fmt not in CODEBOOK_FORMATS:
        raise ExportError(f"only the {' and '.join(CODEBOOK_FORMATS)} exports have a "
                          "codebook file")
    survey = _survey(surveys, fmt, survey_id)
    assert survey is not None, "codebook formats always have a survey"
    build = wide_variables if fmt == "wide" else paired_variables
    rows = codebook_rows(survey, build(survey, drop_free_text, shift_dates))
    return _drain(ExportStream(csv_chunks(CODEBOOK_COLUMNS, rows), fmt), out)


def audit_export(repo: Repository, actor: str, site_code: str, fmt: str, rows: int | None,
                 wave: str | None = None, drop_free_text: bool = False,
                 shift_dates: bool = False, survey_id: str | None = None) -> AuditEntry:
    """Write the export's audit line: who (``actor``), when, the format and filters."""
    return repo.audit(actor, "export", site_code, format=fmt, wave=wave or "all",
                      survey=survey_id or "all", drop_free_text=drop_free_text,
                      shift_dates=shift_dates, rows=rows)
