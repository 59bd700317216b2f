"""A case-study pack's contents: one participant's timeline, pseudonymised.

Liverpool's case studies and Nottingham's story bundles: everything the evaluation holds
about one person, read in one place. ``case_study`` gathers it; the composition root
renders it as a printable page and packs it (``web_survey/case_pack.py``).

Privacy, as in every export: the person is named by their code only; no phone number,
chat id or name is selected; free text is redacted (``redaction.redact``). Family
members and professionals who answered about the person are named by their role and a
number ("family member 1"), never by their code. Recordings are listed by a file name
made here (``audio/recording-1.mp3``), never by the name they are stored under; what
staff wrote down of them (their transcripts) is decrypted and redacted like free text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.model import Question, Survey, localise
from bot.engine.scoring import domain_scores

from ..crypto import Vault
from ..enrolment import TWILIO_RECORDING
from ..models import (
    RECORDING_EXTENSIONS,
    RECORDING_PREFIX,
    Answer,
    OutsideMeasure,
    Participant,
    Recording,
    Response,
    Site,
)
from . import SurveyLibrary
from .records import rounded
from .redaction import redact
from .variables import ORDERED_TYPES

# How a linked respondent is named in a pack, by their respondent type.
ROLE_NAMES = {"individual": "person", "family": "family member",
              "professional": "professional"}


class CaseError(LookupError):
    """No participant with that code at that site (try-out participants never have one)."""


@dataclass(frozen=True)
class CaseAnswer:
    """One answer as the pack shows it, with its change since the timepoint before."""

    question: str
    answer: str
    change: str = ""  # "+1", "-2", "no change"; "" when there is nothing to compare
    recording: str = ""  # its file in the pack, when the pack has the recordings


@dataclass(frozen=True)
class CaseResponse:
    """One response: a timepoint, an entry (a journal, a story) or a linked answer."""

    heading: str  # "baseline", "journal 1", "family member 1, baseline"
    survey: str
    status: str
    started: datetime
    completed: datetime | None
    answers: tuple[CaseAnswer, ...]
    scores: tuple[CaseAnswer, ...] = ()  # domain scores, with their change
    transcripts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseStudy:
    """Everything a pack holds about one participant."""

    code: str
    respondent_type: str
    cohort: str
    timepoints: tuple[CaseResponse, ...]
    entries: tuple[CaseResponse, ...]
    linked: tuple[CaseResponse, ...]
    measures: tuple[tuple[str, str, str, str], ...]  # measure, from, to, value
    # (stored name, name in the pack) of each recording, when they are included.
    recordings: tuple[tuple[str, str], ...] = field(default=())


def transcripts(session: Session, vault: Vault,
                response_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """What staff wrote down of each response's recordings (the ``recordings`` table),
    by response id, oldest recording first: decrypted with ``vault`` and redacted like
    any free text, as a transcript says what the voice said. Recordings nobody has
    written down yet have none, and are left out.
    """
    found: dict[int, list[str]] = {}
    for recording in session.scalars(
            select(Recording).where(Recording.response_id.in_(list(response_ids)),
                                    func.coalesce(Recording.transcript, "") != "")
            .order_by(Recording.id)):
        if recording.response_id is not None and recording.transcript:  # as selected
            found.setdefault(recording.response_id, []).append(
                redact(vault.decrypt(recording.transcript.encode())))
    return {response_id: tuple(texts) for response_id, texts in found.items()}


def _kinds(session: Session, response_ids: Iterable[int]) -> dict[str, str]:
    """The type of each of these responses' recordings in the ``recordings`` table, by
    the reference its answer holds (``rec:<key>``); the sound itself is not read."""
    return {RECORDING_PREFIX + key: content_type for key, content_type in session.execute(
        select(Recording.key, Recording.content_type)
        .where(Recording.response_id.in_(list(response_ids))))}


def case_study(session: Session, surveys: SurveyLibrary, vault: Vault, site_code: str,
               code: str, timepoints: Sequence[str], with_audio: bool = False) -> CaseStudy:
    """The pack's contents for participant ``code`` of ``site_code``; ``vault`` reads
    the recordings' transcripts.

    ``timepoints`` are the site's plan's timepoints in order: a response at any other
    "wave" is an entry (a journal or story entry of the plan). ``with_audio`` lists the
    recordings kept on this server (the ``recordings`` table, or an older recording's
    file; not those still held by Twilio) to add to the pack.
    CaseError when the site has no such participant.
    """
    person = session.scalar(
        select(Participant).join(Site, Participant.site_id == Site.id)
        .where(Site.code == site_code, Participant.code == code.upper(),
               Participant.is_tryout.is_(False), Site.is_tryout.is_(False)))
    if person is None:
        raise CaseError(f"{site_code} has no participant {code.upper()}")
    own = list(session.scalars(select(Response).where(
        Response.participant_id == person.id, Response.about_id.is_(None))))
    linked = list(session.scalars(
        select(Response).join(Participant, Response.participant_id == Participant.id)
        .where(Response.about_id == person.id, Participant.is_tryout.is_(False))
        .order_by(Participant.id, Response.started_at)))
    response_ids = [r.id for r in [*own, *linked]]
    pack = _Pack(surveys, transcripts(session, vault, response_ids),
                 _kinds(session, response_ids) if with_audio else None)
    order = {name: at for at, name in enumerate(timepoints)}
    at_timepoints = sorted((r for r in own if r.wave in order),
                           key=lambda r: (order[r.wave], r.occurrence))
    entries = sorted((r for r in own if r.wave not in order),
                     key=lambda r: (r.wave, r.occurrence, r.started_at))
    measures = tuple(
        (m.measure, m.period_start.isoformat(), m.period_end.isoformat(),
         f"{m.value.normalize():f}")
        for m in session.scalars(select(OutsideMeasure).where(
            OutsideMeasure.participant_id == person.id)
            .order_by(OutsideMeasure.measure, OutsideMeasure.period_start)))
    return CaseStudy(
        person.code, person.respondent_type, person.cohort,
        tuple(pack.timeline(at_timepoints, "")), tuple(pack.entries(entries)),
        tuple(pack.linked(linked)), measures, tuple(pack.recordings))


class _Pack:
    """Builds a pack's responses, numbering its recordings as it meets them.

    ``kinds`` holds the type of each recording in the recordings table, by its answer's
    reference (``_kinds``), when the pack includes the recordings; None when it does not.
    """

    def __init__(self, surveys: SurveyLibrary, typed: dict[int, tuple[str, ...]],
                 kinds: dict[str, str] | None) -> None:
        self.surveys, self.typed, self.kinds = surveys, typed, kinds
        self.recordings: list[tuple[str, str]] = []

    def timeline(self, responses: Sequence[Response], prefix: str) -> list[CaseResponse]:
        """Responses at successive timepoints, each compared with the one before."""
        made: list[CaseResponse] = []
        before: dict[str, int] = {}
        scores_before: dict[str, float] = {}
        for response in responses:
            heading = _slot(response.wave, response.occurrence)
            made.append(self.response(response, f"{prefix}{heading}", before, scores_before))
        return made

    def entries(self, responses: Sequence[Response]) -> list[CaseResponse]:
        """Open-ended entries: each stands alone (nothing to compare with)."""
        return [self.response(r, _slot(r.wave, r.occurrence, always=True), None, None,
                              scored=False) for r in responses]

    def linked(self, responses: Sequence[Response]) -> list[CaseResponse]:
        """Answers about the person by others, each respondent named by role and number."""
        names: dict[int, str] = {}
        counts: dict[str, int] = {}
        by_respondent: dict[int, list[Response]] = {}
        for response in responses:
            respondent = response.participant
            if respondent.id not in names:
                role = ROLE_NAMES.get(respondent.respondent_type, respondent.respondent_type)
                counts[role] = counts.get(role, 0) + 1
                names[respondent.id] = f"{role} {counts[role]}"
            by_respondent.setdefault(respondent.id, []).append(response)
        return [made for respondent_id, theirs in by_respondent.items()
                for made in self.timeline(theirs, f"{names[respondent_id]}, ")]

    def response(self, response: Response, heading: str, before: dict[str, int] | None,
                 scores_before: dict[str, float] | None, scored: bool = True) -> CaseResponse:
        """One response; ``before`` (and ``scores_before``) hold the codes (and scores)
        of the timepoint before, and are moved on to this one's. An entry is not
        ``scored``: its questions are not asked as a measure."""
        survey = _survey(self.surveys, response.survey_id)
        answers = sorted(response.answers, key=lambda a: _position(survey, a.question_id))
        shown = tuple(self.answer(survey, answer, before) for answer in answers)
        scores: tuple[CaseAnswer, ...] = ()
        if scored and survey is not None and survey.domains:
            codes = {a.question_id: a.value_code for a in answers}
            scores = tuple(_score(domain.id, localise(domain.label, "en"), value,
                                  scores_before)
                           for domain, value in zip(survey.domains,
                                                    domain_scores(survey, codes).values(),
                                                    strict=True))
        title = localise(survey.title, "en") if survey is not None else response.survey_id
        return CaseResponse(heading, title, response.status.replace("_", " "),
                            response.started_at, response.completed_at, shown, scores,
                            self.typed.get(response.id, ()))

    def answer(self, survey: Survey | None, answer: Answer,
               before: dict[str, int] | None) -> CaseAnswer:
        """One answer in words, with its change for an ordered scale."""
        question = _question(survey, answer.question_id)
        wording = localise(question.text, "en") if question is not None else answer.question_id
        text = redact(answer.text) if answer.text else ""
        given = " ".join(part for part in (answer.value_label, text) if part)
        if not given:
            given = "(a recording)" if answer.recording else answer.status.replace("_", " ")
        change = ""
        code = answer.value_code
        ordered = question is not None and question.type in ORDERED_TYPES and not any(
            o.not_sure and o.code == code for o in question.options)
        if before is not None and ordered and code is not None:
            if answer.question_id in before:
                change = _signed(code - before[answer.question_id])
            before[answer.question_id] = code
        return CaseAnswer(wording, given, change, self._recording(answer.recording))

    def _recording(self, stored: str) -> str:
        """The recording's name in the pack, when recordings are included and kept here."""
        if self.kinds is None or not stored or stored.startswith(TWILIO_RECORDING):
            return ""
        # A recording in the table is named by its type; an older one by its file's ending.
        ending = (RECORDING_EXTENSIONS.get(self.kinds[stored], "") if stored in self.kinds
                  else PurePosixPath(stored).suffix)
        name = f"audio/recording-{len(self.recordings) + 1}{ending}"
        self.recordings.append((stored, name))
        return name


def _slot(wave: str, occurrence: int, always: bool = False) -> str:
    """A response's place: "baseline", "pulse 2", "journal 1"."""
    return f"{wave} {occurrence}" if occurrence or always else wave


def _survey(surveys: SurveyLibrary, survey_id: str) -> Survey | None:
    try:
        return surveys.get(survey_id)
    except KeyError:  # a survey since removed: its question ids stand for the wording
        return None


def _question(survey: Survey | None, question_id: str) -> Question | None:
    return next((q for q in survey.questions if q.id == question_id), None) if survey else None


def _position(survey: Survey | None, question_id: str) -> int:
    """Where a question sits in its survey (answers are shown in the survey's order)."""
    ids = [q.id for q in survey.questions] if survey else []
    return ids.index(question_id) if question_id in ids else len(ids)


def _signed(difference: float) -> str:
    return "no change" if difference == 0 else f"{round(difference, 4):+g}"


def _score(domain_id: str, label: str, value: float | None,
           scores_before: dict[str, float] | None) -> CaseAnswer:
    """A domain's score, with its change since the timepoint before."""
    if value is None:
        return CaseAnswer(label, "not scored")
    change = ""
    if scores_before is not None:
        if domain_id in scores_before:
            change = _signed(value - scores_before[domain_id])
        scores_before[domain_id] = value
    return CaseAnswer(label, str(rounded(value)), change)
