"""The one service every channel calls: run an event through the engine and store it.

An adapter turns its transport into an ``Event``, calls ``Conversations.handle`` and
renders the prompts it gets back. Here, and only here, the engine meets the database:
the answer, the progress, the provider's message id and the reply commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.engine import Event, Progress, Prompt, Safeguarding, Step, advance, begin
from content.loader import SurveyLibrary
from storage.models import (
    Answer,
    InboundMessage,
    Participant,
    Response,
    SafeguardingFlag,
    utcnow,
)
from storage.uow import Repository, UnitOfWork

log = logging.getLogger(__name__)

# Response statuses as exports and the dashboard count them.
RESPONSE_STATUS = {"consent": "started", "in_progress": "started", "review": "started",
                   "stopped": "started", "completed": "completed", "declined": "declined",
                   "opted_out": "opted_out"}


@dataclass(frozen=True)
class Reply:
    """What to send back: the prompts, and whether this was a provider's retry."""

    prompts: tuple[Prompt, ...]
    status: str = ""
    duplicate: bool = False
    needs: tuple[str, ...] = ()

    @property
    def question(self) -> Prompt | None:
        """The question now waiting for an answer, if any."""
        return next((p for p in reversed(self.prompts) if p.kind == "ask"), None)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UnknownParticipant(LookupError):
    """No participant with that code or contact."""


@dataclass(frozen=True)
class Sender:
    """A participant as a channel knows them: by a contact (a phone number, a chat id).

    Given a ``Sender``, ``Conversations`` finds the person in the same transaction that
    stores their answer, rather than in a query and a transaction of its own.
    """

    kind: str
    value: str = field(repr=False)  # a phone number or chat id: never in logs


# Who an event comes from: a participant id, or their contact.
Who = int | Sender


def _find(repo: Repository, who: Who) -> Participant:
    found = (repo.participant_by_contact(who.kind, who.value) if isinstance(who, Sender)
             else repo.participant_by_id(who))
    if found is None:
        raise UnknownParticipant(who)
    return found


class Conversations:
    """Runs conversations for every channel over one survey library and database."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], surveys: SurveyLibrary) -> None:
        self.uow_factory = uow_factory
        self.surveys = surveys

    def handle(self, who: Who, channel: str, event: Event,
               inbound: tuple[str, str] | None = None,
               resume_after: timedelta | None = None) -> Reply:
        """Move the current-wave survey of ``who`` (a participant id or a ``Sender``) on
        by ``event``; UnknownParticipant when there is no such person.

        ``inbound`` is (provider, message id): the same pair twice records nothing more
        and returns the first reply. A race between two deliveries of one message is
        settled by the database's unique constraint.

        ``resume_after`` is for channels with no sessions (SMS): a reply that comes longer
        than this after the last one starts the conversation again, so the person is told
        where they are instead of having an old question answered by accident.
        """
        for attempt in range(3):
            try:
                return self._handle(who, channel, event, inbound, resume_after)
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("concurrent delivery for %r; retrying", who)
        raise AssertionError("unreachable")

    def _handle(self, who: Who, channel: str, event: Event,
                inbound: tuple[str, str] | None, resume_after: timedelta | None) -> Reply:
        with self.uow_factory() as uow:
            repo = uow.repo
            if inbound:
                seen = repo.inbound(*inbound)
                if seen is not None:
                    return Reply(tuple(Prompt.from_dict(p) for p in seen.reply), duplicate=True)
            participant = _find(repo, who)
            survey = self.surveys.for_respondent(participant.respondent_type)
            response = repo.response(participant, participant.current_wave, lock=True)
            if response is None:
                response = Response(participant=participant, wave=participant.current_wave,
                                    survey_id=survey.id, channel=channel)
                uow.session.add(response)
                progress = begin(survey, participant.current_wave, participant.language,
                                 channel)
            else:
                survey = self.surveys.get(response.survey_id)
                progress = Progress.from_dict(dict(response.progress))
                if (resume_after is not None and event.kind in ("text", "key")
                        and _aware(response.updated_at) < utcnow() - resume_after):
                    event = Event("start")
            if participant.opted_out and progress.status != "opted_out":
                progress.status = "opted_out"
            progress.channel = channel
            progress.language = participant.language
            progress.review = channel == "web"
            site = participant.site
            step = advance(survey, progress, event,
                           Safeguarding.for_site(site.worrying_words, site.contact_text))
            self._store(uow, response, step, channel)
            if inbound:
                uow.session.add(InboundMessage(
                    provider=inbound[0], provider_id=inbound[1], participant_id=participant.id,
                    reply=[p.to_dict() for p in step.prompts]))
            # One flush at commit writes the answer, the progress and the inbound id
            # together, so the database is locked for writing as briefly as it can be.
            uow.commit()
            return Reply(step.prompts, response.status, needs=tuple(participant.need_list))

    @staticmethod
    def _store(uow: UnitOfWork, response: Response, step: Step, channel: str) -> None:
        progress = step.progress
        now = utcnow()
        existing = {a.question_id: a for a in response.answers}
        for recorded in step.recorded:
            answer = existing.get(recorded.question_id)
            if answer is None:
                answer = Answer(question_id=recorded.question_id, channel=channel)
                response.answers.append(answer)
            answer.status = recorded.status
            answer.value_code = recorded.code
            answer.value_label = recorded.label
            answer.text = recorded.text
            answer.recording = recorded.recording
            answer.raw = recorded.raw
            answer.channel = channel
            answer.who_answered = progress.who_answered
            answer.answered_at = now
            if recorded.concerns:
                uow.session.add(SafeguardingFlag(
                    site_id=response.participant.site_id, participant=response.participant,
                    wave=response.wave, question_id=recorded.question_id, text=recorded.text,
                    matched=", ".join(recorded.concerns)[:200], flagged_at=now))
        for question_id in step.withdrawn:
            if question_id in existing:
                response.answers.remove(existing[question_id])
        if step.consent_given is not None:
            response.consent_given = step.consent_given
        response.progress = progress.to_dict()
        response.status = RESPONSE_STATUS[progress.status]
        response.who_answered = progress.who_answered
        response.channel = channel
        response.updated_at = now
        if progress.status == "completed" and response.completed_at is None:
            response.completed_at = now

    def opt_out(self, who: Who, opted_out: bool, actor: str) -> str:
        """Record that a person asked us to stop (or to start again), and audit it.

        Returns the person's language, for the words that confirm it.
        """
        with self.uow_factory() as uow:
            participant = _find(uow.repo, who)
            if participant.opted_out == opted_out:
                # A provider's retry, or a second STOP: nothing changes, nothing audited.
                return participant.language
            participant.opted_out = opted_out
            response = uow.repo.response(participant, participant.current_wave)
            if response is not None:
                progress = Progress.from_dict(dict(response.progress))
                if opted_out and not progress.finished:
                    progress.status = "opted_out"
                elif not opted_out and progress.status == "opted_out":
                    progress.status = "stopped"
                response.progress = progress.to_dict()
                response.status = RESPONSE_STATUS[progress.status]
            uow.repo.audit(actor, "opt_out" if opted_out else "opt_in",
                           participant.site.code, participant=participant.code)
            uow.commit()
            return participant.language

    def tryout(self, survey_id: str, wave: str, language: str = "en") -> int:
        """A fresh try-out participant for ``survey_id``; their answers are never exported."""
        survey = self.surveys.get(survey_id)
        with self.uow_factory() as uow:
            site = uow.repo.tryout_site()
            participant = Participant(
                site=site, code=f"TRY-{utcnow():%Y%m%d%H%M%S%f}",
                respondent_type=survey.respondent_type, language=language,
                preferred_channel="chat", current_wave=wave, is_tryout=True)
            # The response names the survey, so a site's own survey can be tried out
            # even when another survey is the default for that respondent type.
            progress = begin(survey, wave, language, "chat")
            uow.session.add(Response(participant=participant, wave=wave, survey_id=survey.id,
                                     channel="chat", progress=progress.to_dict()))
            uow.commit()
            return participant.id
