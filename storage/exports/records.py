"""Reading a site's answers for an export: in batches, pseudonymised, try-outs left out.

Every query here selects columns, never contact details, and streams with
``yield_per`` so memory stays flat however many rows a site has. Rows come ordered by
participant code, linked person, timepoint (in the plan's order) and pulse or entry
number, so one response (and one participant's view of one person) is always
contiguous and can be assembled without holding anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby, islice
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from bot.engine.scoring import score_items

from ..models import (
    RECORDING_PREFIX,
    Answer,
    Participant,
    Recording,
    Response,
    Site,
    SurveyVersion,
)
from .redaction import redact
from .variables import DATE_FORMAT, Variable

BATCH = 5000
# A select of any columns (SQLAlchemy 2.1 types a select by its columns' types).
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Scope:
    """Which rows an export reads and how it protects them.

    ``shift`` gives, for a participant code, the days to move that participant's
    dates back (None: dates as recorded). ``waves``, when given, limits the rows to
    those timepoints or entry types (as ``wave`` does to one); ``order`` is the plan's
    timepoints and entry types, the order rows come in (others after, by name).
    """

    site_code: str
    wave: str | None = None
    survey_id: str | None = None
    drop_free_text: bool = False
    shift: Callable[[str], int] | None = None
    waves: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    # Reads a recording's encrypted transcript (the vault's); None: transcripts are left
    # empty.
    decrypt: Callable[[bytes], str] | None = None

    def moment(self, code: str, value: datetime | None) -> datetime | None:
        """``value`` as naive UTC, shifted for participant ``code`` when asked."""
        if value is None:
            return None
        # SQLite hands back naive datetimes, PostgreSQL aware ones: both are UTC.
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        if self.shift is not None:
            value -= timedelta(days=self.shift(code))
        return value


def _scoped(query: AnySelect, scope: Scope) -> AnySelect:
    """Limit ``query`` (over responses) to the scope's site, wave and survey, no try-outs."""
    query = (query.join(Participant, Response.participant_id == Participant.id)
             .join(Site, Participant.site_id == Site.id)
             .where(Site.code == scope.site_code, Site.is_tryout.is_(False),
                    Participant.is_tryout.is_(False)))
    if scope.wave:
        query = query.where(Response.wave == scope.wave)
    elif scope.waves:
        query = query.where(Response.wave.in_(scope.waves))
    if scope.survey_id:
        query = query.where(Response.survey_id == scope.survey_id)
    return query


# The person a linked respondent answers about (None: about themselves), and the
# survey version a response answered: outer-joined to each response.
About = aliased(Participant, name="about_participant")
ABOUT_CODE = func.coalesce(About.code, "")


def _with_slot(query: AnySelect) -> AnySelect:
    """``query`` (over responses) joined to the linked person and the survey version."""
    return (query.outerjoin(About, Response.about_id == About.id)
            .outerjoin(SurveyVersion, Response.survey_version_id == SurveyVersion.id))


def _slot_order(scope: Scope) -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    """Rows by participant, linked person, timepoint in the plan's order, then number."""
    wave: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...] = (Response.wave,)
    if scope.order:
        wave = (case({name: at for at, name in enumerate(scope.order)}, value=Response.wave,
                     else_=len(scope.order)), Response.wave)
    return (Participant.code, ABOUT_CODE, *wave, Response.occurrence, Response.id)


LONG_COLUMNS = (
    "site", "participant", "about", "respondent_type", "cohort", "survey",
    "survey_version_id", "survey_version", "wave", "occurrence", "who_answered", "channel",
    "mode", "interviewer",
    "response_status", "question_id", "answer_status", "value_code", "value_label",
    "free_text", "recording", "transcript", "answered_at",
)
# The recording column names a recording (never its sound: audio is not exported); the
# transcript is what staff wrote down from it.
FREE_TEXT_COLUMNS = ("free_text", "recording", "transcript")


# Where cells sit in a long row; the free text is never dropped without the recording
# after it, and the value code comes before both.
_PARTICIPANT_AT = LONG_COLUMNS.index("participant")
_FREE_TEXT_AT = LONG_COLUMNS.index("free_text")
_TRANSCRIPT_AT = LONG_COLUMNS.index("transcript")
VALUE_CODE_AT = LONG_COLUMNS.index("value_code")


def long_columns(drop_free_text: bool = False) -> tuple[str, ...]:
    """The long CSV's header, without the free-text columns when they are dropped."""
    return tuple(c for c in LONG_COLUMNS if not (drop_free_text and c in FREE_TEXT_COLUMNS))


class utc_text(FunctionElement[str]):
    """A timestamp as UTC text in ``DATE_FORMAT``, written by the database itself.

    The long export has a timestamp on every row; parsing each into a datetime and
    formatting it again took a quarter of the export's time.
    """

    type = String()
    inherit_cache = True


@compiles(utc_text, "sqlite")
def _utc_text_sqlite(element: utc_text, compiler: Any, **kw: Any) -> str:
    # SQLite holds SQLAlchemy's datetimes as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff",
    # so the seconds are its first 19 characters: cutting them off costs nothing, where
    # strftime parsed and formatted every row again (a tenth of the export's time).
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"


@compiles(utc_text, "postgresql")
def _utc_text_postgresql(element: utc_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"


def _batches(session: Session, query: AnySelect, batch: int
             ) -> Generator[list[Sequence[Any]], None, None]:
    """``query``'s rows, ``batch`` at a time, never holding more than a batch.

    When no selected column needs SQLAlchemy to convert its values, the rows come
    straight from the driver, skipping SQLAlchemy's row objects: psycopg streams them
    (the server sends rows while the file is written, instead of waiting to be asked
    for each batch as a server-side cursor does), sqlite3 reads them as asked. That
    made the long export two to three times as fast. Otherwise a Core query streams.
    """
    connection = session.connection()
    dialect = connection.dialect
    if any(column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
           for column in query.selected_columns):
        # Such as a timestamp on SQLite, which keeps it as text.
        streaming = connection.execution_options(stream_results=True, yield_per=batch)
        yield from map(list, streaming.execute(query).partitions())
        return
    compiled = query.compile(dialect=dialect)
    params = ([compiled.params[name] for name in compiled.positiontup or ()]
              if compiled.positional else compiled.params)
    driver = connection.connection.driver_connection
    assert driver is not None  # a pooled connection that is open always has one
    cursor = driver.cursor()
    try:
        if dialect.driver == "psycopg":
            from psycopg import capabilities

            # Chunks need libpq 17 (psycopg's binary wheel has it); row by row before.
            size = batch if capabilities.has_stream_chunked() else 1
            rows = cursor.stream(str(compiled), params, size=size)
            try:
                while chunk := list(islice(rows, batch)):
                    yield chunk
            finally:
                # An export abandoned half-way (a dropped download) cancels the query
                # here, leaving the connection ready for the next one.
                rows.close()
        else:
            cursor.execute(str(compiled), params)
            while chunk := cursor.fetchmany(batch):
                yield chunk
    finally:
        cursor.close()


def _transcript(scope: Scope) -> ColumnElement[Any]:
    """The encrypted transcript of the recording an answer is ("" for none), when the
    scope reads transcripts (``_with_transcripts`` joins it); else always ""."""
    if scope.decrypt and not scope.drop_free_text:
        return func.coalesce(Recording.transcript, "")
    return literal("", String)


def _with_transcripts(query: AnySelect, scope: Scope) -> AnySelect:
    """``query`` (with answers) joined to the recording each answer refers to, when it
    is one in the recordings table and the scope reads transcripts."""
    if not scope.decrypt or scope.drop_free_text:
        return query
    return query.outerjoin(Recording, and_(
        Recording.response_id == Answer.response_id,
        Answer.recording == literal(RECORDING_PREFIX, String) + Recording.key))


def transcript_text(decrypt: Callable[[bytes], str], token: object) -> str:
    """An encrypted transcript's words, redacted of personal details as free text is."""
    return redact(decrypt(str(token).encode()))


def long_batches(session: Session, scope: Scope,
                 batch: int = BATCH) -> Generator[list[Sequence[object]], None, None]:
    """The long export's rows (columns ``long_columns``), ``batch`` at a time, as text.

    The biggest export there is, so the database does all it can: it writes the value
    code (an empty cell when there is none) and, unless dates are shifted, the answer
    time as text, and leaves the free-text columns out when they are dropped; the rows
    come straight from the driver (``_batches``). Python only redacts personal details
    from free text (``redaction.redact``) and shifts dates when asked. Every cell is
    a str, so ``csv_chunks`` can join a batch without looking at each cell; pass it
    ``numeric=(VALUE_CODE_AT,)``, as a code such as "-1" is a number, not a formula.
    """
    free = () if scope.drop_free_text else (Answer.text, Answer.recording, _transcript(scope))
    answered = Answer.answered_at if scope.shift else utc_text(Answer.answered_at)
    query = _with_slot(
        select(Site.code, Participant.code, ABOUT_CODE, Participant.respondent_type,
               Participant.cohort, Response.survey_id,
               func.coalesce(cast(Response.survey_version_id, String), ""),
               func.coalesce(cast(SurveyVersion.version, String), ""), Response.wave,
               cast(Response.occurrence, String), Answer.who_answered, Answer.channel,
               Answer.mode, Answer.interviewer,
               Response.status, Answer.question_id, Answer.status,
               func.coalesce(cast(Answer.value_code, String), ""), Answer.value_label,
               *free, answered)
        .select_from(Answer).join(Response, Answer.response_id == Response.id))
    query = _scoped(_with_transcripts(query, scope), scope).order_by(*_slot_order(scope),
                                                                     Answer.id)
    with closing(_batches(session, query, batch)) as batches:
        for rows in batches:
            if not scope.drop_free_text:
                _redact_free_text(rows, scope.decrypt)
            yield _shift_times(rows, scope) if scope.shift else rows


def _redact_free_text(rows: list[Sequence[object]],
                      decrypt: Callable[[bytes], str] | None) -> None:
    """Replace, in place, each row whose free text holds a personal detail (``redact``),
    and each encrypted transcript with its words, redacted the same way."""
    for at, text in enumerate(map(itemgetter(_FREE_TEXT_AT), rows)):
        if text and (clean := redact(str(text))) != text:
            row = rows[at]
            rows[at] = (*row[:_FREE_TEXT_AT], clean, *row[_FREE_TEXT_AT + 1:])
    if decrypt is None:
        return
    for at, token in enumerate(map(itemgetter(_TRANSCRIPT_AT), rows)):
        if token:
            row = rows[at]
            rows[at] = (*row[:_TRANSCRIPT_AT], transcript_text(decrypt, token),
                        *row[_TRANSCRIPT_AT + 1:])


def _shift_times(rows: list[Sequence[Any]], scope: Scope) -> list[Sequence[object]]:
    """The rows with their answer time (the last cell) shifted for the participant."""
    shifted: list[Sequence[object]] = []
    for row in rows:
        when = scope.moment(row[_PARTICIPANT_AT], row[-1])
        shifted.append((*row[:-1], "" if when is None else when.strftime(DATE_FORMAT)))
    return shifted


def long_rows(session: Session, scope: Scope,
              batch: int = BATCH) -> Iterator[Sequence[object]]:
    """One row per answer: ``long_batches``, a row at a time."""
    # Closing, not leaving it to the collector, cancels a query stopped part-way at once.
    with closing(long_batches(session, scope, batch)) as batches:
        for rows in batches:
            yield from rows


_RESPONSE_COLUMNS = (
    Response.id, Participant.code, ABOUT_CODE, Site.code, Participant.respondent_type,
    Participant.cohort, Response.survey_id, Response.survey_version_id, SurveyVersion.version,
    Response.wave, Response.occurrence, Response.who_answered, Response.channel,
    Response.status, Response.consent_given, Response.started_at, Response.completed_at,
)
_ANSWER_COLUMNS = (Answer.question_id, Answer.status, Answer.value_code, Answer.text,
                   Answer.recording)


def _answer_value(variable: Variable, answer: tuple[Any, ...] | None,
                  decrypt: Callable[[bytes], str] | None) -> object:
    if answer is None:
        return None
    status, code, text, recording, transcript = answer
    if status != "answered":
        return None
    if variable.part == "recording":
        return recording or None
    if variable.part == "transcript":
        return transcript_text(decrypt, transcript) if decrypt and transcript else None
    if variable.is_free_text:
        return redact(text) or None
    return code


def rounded(score: float | None) -> float | int | None:
    """A domain score as exported: a whole number when it is one, else to 4 places."""
    if score is None:
        return None
    return int(score) if float(score).is_integer() else round(score, 4)


def _domain_value(variable: Variable, answers: dict[Any, tuple[Any, ...]]) -> float | int | None:
    """The domain's score from one response's answers (a code only when answered)."""
    assert variable.domain is not None
    codes = {question_id: code for question_id, (status, code, *_) in answers.items()
             if status == "answered"}
    return rounded(score_items(variable.domain,
                               ((item, codes.get(item.id)) for item in variable.items)))


def wide_records(session: Session, variables: list[Variable], scope: Scope,
                 batch: int = BATCH) -> Iterator[dict[str, object]]:
    """One dict per response (participant and slot), keyed by the wide variables' names.

    A question not asked, skipped or left unanswered is None (the long export says
    which). A domain's score is made from the response's own answers
    (``bot.engine.scoring``). Free text, and the transcript of a spoken answer, are
    redacted of personal details; dates are naive UTC, shifted when the scope says so.
    ``about`` is the linked person's code ("" when about themselves) and ``person``
    whom the answers are about.
    """
    query = _scoped(_with_slot(_with_transcripts(
        select(*_RESPONSE_COLUMNS, *_ANSWER_COLUMNS, _transcript(scope)).select_from(Response)
        .outerjoin(Answer, Answer.response_id == Response.id), scope)), scope,
    ).order_by(*_slot_order(scope), Answer.id)
    questions = [v for v in variables if v.question is not None]
    domains = [v for v in variables if v.domain is not None]
    width = len(_RESPONSE_COLUMNS)
    rows = session.execute(query.execution_options(yield_per=batch))
    for _, group in groupby(rows, key=itemgetter(0)):
        lines = list(group)  # one response: its dozen or so answers
        answers = {line[width]: tuple(line[width + 1:]) for line in lines
                   if line[width] is not None}
        (_, code, about, site, kind, cohort, survey, version_id, version, wave, occurrence,
         who, channel, status, consent, started, completed) = lines[0][:width]
        record: dict[str, object] = {
            "participant": code, "about": about, "person": about or code, "site": site,
            "respondent_type": kind, "cohort": cohort, "survey": survey,
            "survey_version_id": version_id, "survey_version": version, "wave": wave,
            "occurrence": occurrence, "who_answered": who, "channel": channel,
            "status": status, "consent": None if consent is None else int(consent),
            "started_at": scope.moment(code, started),
            "completed_at": scope.moment(code, completed),
        }
        for variable in questions:
            assert variable.question is not None
            record[variable.name] = _answer_value(variable, answers.get(variable.question.id),
                                                  scope.decrypt)
        for variable in domains:
            record[variable.name] = _domain_value(variable, answers)
        yield record


def _change(variable: Variable, before: object, after: object) -> int | None:
    """The second code minus the first, or None when either is missing or "Not sure"."""
    question = variable.question
    assert question is not None
    if not isinstance(before, int) or not isinstance(after, int):
        return None
    for code in (before, after):
        option = question.option(code)
        if option is not None and option.not_sure:
            return None
    return after - before


def _score_change(before: object, after: object) -> float | int | None:
    """The second score minus the first, or None when either is missing."""
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return None
    return rounded(after - before)


# A person's records by slot: (timepoint, pulse or entry number) -> the wide record.
BySlot = dict[tuple[str, int], dict[str, object]]


def _at(by_slot: BySlot, wave: str, occurrence: int | None, last: bool) -> dict[str, object]:
    """The record at ``wave`` and ``occurrence``; with no occurrence (paired), the
    timepoint's first pulse, or its latest when ``last``. Empty when there is none."""
    if occurrence is not None:
        return by_slot.get((wave, occurrence), {})
    numbers = sorted(n for w, n in by_slot if w == wave)
    return by_slot[wave, numbers[-1 if last else 0]] if numbers else {}


def across_records(records: Iterable[dict[str, object]], variables: list[Variable],
                   context: Sequence[str], pair: tuple[str, str] | None = None
                   ) -> Iterator[dict[str, object]]:
    """One dict per participant and linked person from wide ``records`` (ordered by
    both): each ``variables`` column copies its source at its timepoint and pulse.

    With a ``pair`` (the paired export), a change is given only when the same kind of
    respondent answered both, so a person's own view is never subtracted from a carer's.
    """
    for _, group in groupby(records, key=itemgetter("participant", "about")):
        by_slot: BySlot = {}
        for record in group:
            occurrence = record["occurrence"]
            assert isinstance(occurrence, int), "a response's number is never missing"
            by_slot[str(record["wave"]), occurrence] = record
        first = next(iter(by_slot.values()))
        row = {name: first[name] for name in context}
        ends: tuple[tuple[str, bool], ...] = ((pair[0], False), (pair[1], True)) if pair else ()
        same = False
        if ends:
            both = [_at(by_slot, wave, None, last) for wave, last in ends]
            who = [str(record.get("who_answered") or "") for record in both]
            same = all(who) and len(set(who)) == 1
            row["same_who_answered"] = int(same) if all(both) else None
        for variable in variables:
            if variable.name in row:
                continue
            if variable.part == "change":
                before, after = (_at(by_slot, wave, None, last).get(variable.source)
                                 for wave, last in ends)
                change = (_score_change(before, after) if variable.domain is not None
                          else _change(variable, before, after))
                row[variable.name] = change if same else None
                continue
            last = bool(ends) and variable.wave == ends[-1][0]
            row[variable.name] = _at(by_slot, variable.wave, variable.occurrence,
                                     last).get(variable.source)
        yield row


def slots_present(session: Session, scope: Scope) -> set[tuple[str, int]]:
    """Every (timepoint, pulse number) answered in the scope, so the trajectory's
    columns are known before its first row."""
    query = _scoped(select(Response.wave, Response.occurrence).select_from(Response),
                    scope).distinct()
    return {(wave, occurrence) for wave, occurrence in session.execute(query)}
