"""The one service every channel calls: run an event through the engine and store it.

An adapter turns its transport into an ``Event``, calls ``Conversations.handle`` and
renders the prompts it gets back. Here, and only here, the engine meets the database:
the answer, the progress, the provider's message id and the reply commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.engine import Event, Progress, Prompt, Safeguarding, Step, advance, begin
from content.loader import SurveyLibrary
from storage.models import Participant, Response, utcnow
from storage.turns import StaleTurn, TurnWrite
from storage.uow import Repository, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
# Each attempt that loses a race lets another message through, so this many messages
# from one person can arrive together before one of them fails.
ATTEMPTS = 5

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


def _until_stored(who: Who, attempt: Callable[[], T]) -> T:
    """``attempt()``, run again while another message from ``who`` was stored first (it
    read an old response version, or met the unique constraint a twin delivery took)."""
    for number in range(1, ATTEMPTS + 1):
        try:
            return attempt()
        except (IntegrityError, StaleTurn, StaleDataError):
            if number == ATTEMPTS:
                raise
            log.info("another message from %r was stored first; running again", who)
    raise AssertionError("unreachable")


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
        and returns the first reply. Two messages from one person at once are settled by
        the database: the one that commits second finds it read an old version of the
        response (or a second delivery of one message meets the unique constraint) and
        runs again on what the first stored.

        ``resume_after`` is for channels with no sessions (SMS): a reply that comes longer
        than this after the last one starts the conversation again, so the person is told
        where they are instead of having an old question answered by accident.
        """
        return _until_stored(who, lambda: self._handle(who, channel, event, inbound,
                                                       resume_after))

    def _handle(self, who: Who, channel: str, event: Event,
                inbound: tuple[str, str] | None, resume_after: timedelta | None) -> Reply:
        with self.uow_factory() as uow:
            repo = uow.repo
            person = (repo.turn_person(contact=(who.kind, who.value), inbound=inbound)
                      if isinstance(who, Sender) else
                      repo.turn_person(participant_id=who, inbound=inbound))
            if person is None:
                raise UnknownParticipant(who)
            if person.seen_reply is not None:
                return Reply(tuple(Prompt.from_dict(p) for p in person.seen_reply),
                             duplicate=True)
            stored = person.response
            now = utcnow()
            if stored is None:
                survey = self.surveys.for_respondent(person.respondent_type)
                progress = begin(survey, person.current_wave, person.language, channel)
            else:
                survey = self.surveys.get(stored.survey_id)
                progress = Progress.from_dict(stored.progress)
                if (resume_after is not None and event.kind in ("text", "key")
                        and stored.updated_at < now - resume_after):
                    event = Event("start")
            if person.opted_out and progress.status != "opted_out":
                progress.status = "opted_out"
            progress.channel = channel
            progress.language = person.language
            progress.review = channel == "web"
            step = advance(survey, progress, event,
                           Safeguarding.for_site(person.worrying_words, person.contact_text))
            write = self._write(step, channel, inbound, now)
            repo.save_turn(person, survey.id, write, now)
            uow.commit()
            return Reply(step.prompts, write.status, needs=person.needs)

    @staticmethod
    def _write(step: Step, channel: str, inbound: tuple[str, str] | None,
               now: datetime) -> TurnWrite:
        """What ``step`` stores: the answers as the person gave them, and the progress."""
        progress = step.progress
        who = progress.who_answered
        return TurnWrite(
            progress=progress.to_dict(), status=RESPONSE_STATUS[progress.status],
            who_answered=who, channel=channel, consent_given=step.consent_given,
            completed=progress.status == "completed",
            answers=[{"question_id": r.question_id, "status": r.status,
                      "value_code": r.code, "value_label": r.label, "text": r.text,
                      "recording": r.recording, "raw": r.raw, "channel": channel,
                      "who_answered": who, "answered_at": now} for r in step.recorded],
            withdrawn=step.withdrawn,
            flags=[{"question_id": r.question_id, "text": r.text,
                    "matched": ", ".join(r.concerns)[:200]}
                   for r in step.recorded if r.concerns],
            reply=[p.to_dict() for p in step.prompts], inbound=inbound)

    def opt_out(self, who: Who, opted_out: bool, actor: str) -> str:
        """Record that a person asked us to stop (or to start again), and audit it.

        Returns the person's language, for the words that confirm it. A message from
        the same person stored meanwhile makes it run again, as ``handle`` does.
        """
        return _until_stored(who, lambda: self._opt_out(who, opted_out, actor))

    def _opt_out(self, who: Who, opted_out: bool, actor: str) -> str:
        with self.uow_factory() as uow:
            participant = _find(uow.repo, who)
            if participant.opted_out == opted_out:
                # A provider's retry, or a second STOP: nothing changes, nothing audited.
                return participant.language
            # Read before changing anything: a change would be flushed by the query, and
            # hold SQLite's one write lock for the rest of this transaction.
            response = uow.repo.response(participant, participant.current_wave)
            participant.opted_out = opted_out
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
