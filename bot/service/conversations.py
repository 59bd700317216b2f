"""The one door every channel calls: each use case runs one engine turn in one transaction.

An adapter turns its transport into an ``Event``, calls a method here and renders the
prompts it gets back. Here, and only here, the engine meets the database: the answer,
the progress, an opt-out and its audit line, the provider's message id and the reply
commit together. The use cases are answering (``handle``), opting out or in (an event
like any other), linking a Telegram chat, changing language and opening a web link.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.channel_table import CHANNELS, Channel, ChannelName, Reach, channel_row
from bot.engine import (
    FINISHED_STATUSES,
    EntryOffer,
    Event,
    EventKind,
    Progress,
    Prompt,
    Safeguarding,
    Standing,
    Status,
    Step,
    Survey,
    advance,
    begin,
    response_status,
)
from content.loader import SurveyLibrary
from content.plan import Plan
from storage.models import Conducted, Participant, Response, as_utc, utcnow
from storage.turns import Person, StaleTurn, TurnWrite
from storage.uow import Repository, UnitOfWork

from .catalogue import Chosen, SurveyCatalogue
from .recordings import Audio, key_of, recording_event

log = logging.getLogger(__name__)
T = TypeVar("T")
# Each attempt that loses a race lets another message through, so this many messages
# from one person can arrive together before one of them fails. Twilio does not send a
# failed messaging webhook again, so a failure here is a lost message: the budget is
# generous, and a short random pause spreads the runners-up apart.
ATTEMPTS = 40
# The "question" a flag on a message sent outside the survey is filed under.
KEPT_MESSAGE = "message"
PAUSE_SECONDS = 0.005


@dataclass(frozen=True)
class Reply:
    """What to send back: the prompts, and whether this was a provider's retry.

    ``language`` and ``needs`` are the person's, so an adapter speaks and shows the
    prompts as this person needs them.
    """

    prompts: tuple[Prompt, ...]
    status: str = ""
    duplicate: bool = False
    needs: tuple[str, ...] = ()
    language: str = ""
    choice: bool | None = None  # the opt-out choice this message made, if it made one

    @property
    def question(self) -> Prompt | None:
        """The question now waiting for an answer, if any."""
        return next((p for p in reversed(self.prompts) if p.kind == "ask"), None)

    @property
    def finished(self) -> bool:
        """True when no survey question is waiting any more."""
        return self.status in FINISHED_STATUSES


class UnknownParticipant(LookupError):
    """No participant with that code or contact."""


class UnknownInvitation(LookupError):
    """No invitation with that token (for this channel)."""


@dataclass(frozen=True)
class Sender:
    """A participant as a channel knows them: by a contact (a phone number, a chat id).

    Given a ``Sender``, the service finds the person in the same transaction that
    stores their answer, rather than in a query and a transaction of its own.
    """

    kind: str
    value: str = field(repr=False)  # a phone number or chat id: never in logs


# Who an event comes from: a participant id, or their contact.
Who = int | Sender


@dataclass(frozen=True)
class LinkVisit:
    """A web link opened: whose it is, and the reply to the event, or why it cannot open.

    ``problem`` is "" (it opened), "old" (an earlier wave's link) or a finished status
    ("completed", "declined", "opted_out"); then ``reply`` is None. ``entries`` are the
    open-ended entries the person may add (name, what it is called in their language).
    """

    participant_id: int
    survey: Survey
    language: str
    needs: tuple[str, ...]
    respondent_type: str
    contact_text: str
    problem: str = ""
    reply: Reply | None = None
    entries: tuple[tuple[str, str], ...] = ()


def _until_stored(who: object, attempt: Callable[[], T]) -> T:
    """``attempt()``, run again while another message from ``who`` was stored first (it
    read an old response version, or met the unique constraint a twin delivery took)."""
    for number in range(1, ATTEMPTS + 1):
        try:
            return attempt()
        except (IntegrityError, StaleTurn, StaleDataError):
            if number == ATTEMPTS:
                raise
            log.info("another message from %r was stored first; running again", who)
            time.sleep(random.uniform(0, PAUSE_SECONDS * min(number, 10)))  # noqa: S311 - jitter
    raise AssertionError("unreachable")


class Conversations:
    """Runs conversations for every channel over one survey library and database."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], surveys: SurveyLibrary) -> None:
        self.uow_factory = uow_factory
        self.surveys = surveys
        self.catalogue = SurveyCatalogue(surveys)

    # ------------------------------------------------------------ use cases

    def handle(self, who: Who, channel: str, event: Event,
               inbound: tuple[str, str] | None = None, actor: str = "") -> Reply:
        """Move the current-wave survey of ``who`` (a participant id or a ``Sender``) on
        by ``event`` arriving on ``channel``.

        UnknownParticipant when there is no such person; for a ``Sender`` that is audited
        first (in the same transaction). ``inbound`` is (provider, message id): the same
        pair twice records nothing more and returns the first reply. Two messages from
        one person at once are settled by the database: the one that commits second
        finds it read an old version of the response (or a second delivery of one
        message meets the unique constraint) and runs again on what the first stored.
        ``actor`` names who made an opt-out choice in the audit log (default: the person,
        by this channel).
        """
        row = channel_row(channel)

        def run(uow: UnitOfWork) -> Reply:
            reply = self._turn(uow, self._person(uow, who, inbound, row), row, event,
                               inbound, actor)
            if reply.choice is not None:
                self._whole_number(uow, who, reply.choice, actor)
            return reply

        return _until_stored(who, lambda: self._in_one(run))

    def record(self, who: Who, channel: str, audio: Audio, question: str,
               inbound: tuple[str, str] | None = None, actor: str = "") -> Reply:
        """``audio`` recorded by ``who`` at ``question`` on ``channel``: a recording event,
        as ``handle`` runs it. When the engine takes it (an open question is waiting),
        the audio is stored once, encrypted, in the same transaction as the answer that
        refers to it; otherwise nothing of it is kept. Check a person's own file with
        ``recordings.check_upload`` first."""
        row = channel_row(channel)
        event = recording_event(question)
        return _until_stored(who, lambda: self._in_one(
            lambda uow: self._turn(uow, self._person(uow, who, inbound, row), row, event,
                                   inbound, actor, audio)))

    def opt_out(self, who: Who, opted_out: bool, actor: str) -> Reply:
        """Record that a person asked us to stop contacting them (or to start again),
        for staff and providers (Twilio's 21610). The survey's own channel words it; the
        reply is not sent. Nothing changes when the choice was already recorded."""
        def run(uow: UnitOfWork) -> Reply:
            reply = self._choose(uow, self._person(uow, who, None, None), opted_out, actor)
            self._whole_number(uow, who, opted_out, actor)
            return reply

        return _until_stored(who, lambda: self._in_one(run))

    def link_chat(self, token: str, chat: Sender, channel: str,
                  inbound: tuple[str, str] | None) -> Reply:
        """Link ``chat`` to the person ``token`` invites (taking it from anyone else it
        was linked to), then start or carry on their survey, in one transaction.
        Starting is the person asking to take part, so it opts them back in.
        UnknownInvitation (audited) when no invitation has that token."""
        row = channel_row(channel)

        def run(uow: UnitOfWork) -> Reply:
            invitation = uow.repo.invitation(token)
            if invitation is None:
                uow.repo.audit(row.name, "unknown_link")
                uow.commit()
                raise UnknownInvitation(token)
            person = invitation.participant
            holder = uow.repo.participant_by_contact(person.site_id, chat.kind, chat.value)
            if holder is not person:
                if holder is not None:
                    holder.contacts = [c for c in holder.contacts if c.kind != chat.kind]
                uow.repo.set_contact(person, chat.kind, chat.value)
            # Opening a site's link makes this chat answer that site from now on.
            uow.repo.mark_reached(person, chat.kind, utcnow())
            uow.session.flush()
            found = self._person(uow, person.id, inbound, row)
            return self._turn(uow, found, row, Event(EventKind.OPT_IN), inbound, "")

        return _until_stored(chat, lambda: self._in_one(run))

    def languages(self, who: Who) -> tuple[str, tuple[str, ...]]:
        """The person's language and the languages their survey is written in."""
        with self.uow_factory() as uow:
            person = self._person(uow, who, None, None)
            return person.language, self._survey_of(uow, person).survey.languages

    def set_language(self, who: Who, language: str, channel: str,
                     inbound: tuple[str, str] | None = None) -> Reply:
        """Change the person's language, if their survey is written in it, and ask the
        current question again in it; one transaction."""
        row = channel_row(channel)

        def run(uow: UnitOfWork) -> Reply:
            person = self._person(uow, who, inbound, row)
            languages = self._survey_of(uow, person).survey.languages
            if person.seen_reply is None and language in languages:
                participant = uow.repo.participant_by_id(person.id)
                assert participant is not None
                participant.language = language
                uow.session.flush()
                person = self._person(uow, person.id, inbound, row)
            return self._turn(uow, person, row, Event(EventKind.AGAIN), inbound, "")

        return _until_stored(who, lambda: self._in_one(run))

    def open_link(self, token: str, channel: str, event: Event,
                  audio: Audio | None = None) -> LinkVisit:
        """The web link ``token``: run ``event`` for its person, in one transaction, or
        say why it cannot open (``LinkVisit.problem``). UnknownInvitation when no
        invitation has that token, or it belongs to a channel with links of its own.
        With ``audio``, ``event`` is a ``recordings.recording_event`` (see ``record``)."""
        row = channel_row(channel)

        def run(uow: UnitOfWork) -> LinkVisit:
            invitation = uow.repo.invitation(token)
            if invitation is None or _entry_elsewhere(invitation.channel, row):
                raise UnknownInvitation(token)
            person = self._person(uow, invitation.participant_id, None, row)
            survey = self._survey_of(uow, person).survey
            visit = LinkVisit(person.id, survey, person.language, person.needs,
                              person.respondent_type, person.contact_text, entries=tuple(
                                  (e.name, e.label(person.language))
                                  for e in self._offers(uow, person)))
            if invitation.wave != person.current_wave:
                return replace(visit, problem="old")
            closed = _closed(person, event)
            if closed:
                return replace(visit, problem=closed)
            return replace(visit, reply=self._turn(uow, person, row, event, None, "", audio))

        return _until_stored(token, lambda: self._in_one(run))

    def interview(self, participant_id: int, interviewer: str, event: Event,
                  audio: Audio | None = None) -> LinkVisit:
        """Run ``event`` for a participant a worker (``interviewer``, their staff email)
        is sitting with, on the interview channel, in one transaction; or say why it
        cannot run (``LinkVisit.problem``: a finished status, as for a web link).
        With ``audio``, ``event`` is a ``recordings.recording_event`` (see ``record``):
        the recording is stored on the interview channel.

        Every answer stored records the interview and the worker. The audit log has a
        line when the worker starts (the ``start`` event: stage ``started``, or
        ``resumed`` when the survey was already under way) and one when the survey is
        finished, in the same transaction as the turn that did it.
        """
        row = channel_row(ChannelName.INTERVIEW)

        def run(uow: UnitOfWork) -> LinkVisit:
            person = self._person(uow, participant_id, None, row)
            visit = LinkVisit(person.id, self._survey_of(uow, person).survey,
                              person.language, person.needs, person.respondent_type,
                              person.contact_text)
            stored = person.response
            closed = _closed(person, event)
            if closed:
                return replace(visit, problem=closed)
            reply = self._turn(uow, person, row, event, None, interviewer, audio,
                               interviewer=interviewer)
            detail = {"participant": person.code, "wave": person.current_wave}
            if event.kind == EventKind.START:
                uow.repo.audit(interviewer, "interview", person.site_code,
                               stage="resumed" if stored else "started", **detail)
            if reply.finished:
                uow.repo.audit(interviewer, "interview", person.site_code, stage="finished",
                               status=reply.status, **detail)
            return replace(visit, reply=reply)

        return _until_stored(participant_id, lambda: self._in_one(run))

    def tryout(self, survey_id: str, wave: str, language: str = "en") -> int:
        """A fresh try-out participant for ``survey_id``; their answers are never exported."""
        survey = self.surveys.get(survey_id)
        row = channel_row("chat")
        with self.uow_factory() as uow:
            site = uow.repo.tryout_site()
            participant = Participant(
                site=site, code=f"TRY-{utcnow():%Y%m%d%H%M%S%f}",
                respondent_type=survey.respondent_type, language=language,
                preferred_channel=row.name, current_wave=wave, is_tryout=True)
            # The response names the survey, so a site's own survey can be tried out
            # even when another survey is the default for that respondent type.
            progress = begin(survey, wave, language, row.name, row.capabilities)
            uow.session.add(Response(participant=participant, wave=wave, survey_id=survey.id,
                                     channel=row.name, progress=progress.to_dict()))
            uow.commit()
            return participant.id

    # ------------------------------------------------------------ the turn

    def _choose(self, uow: UnitOfWork, person: Person, opted_out: bool, actor: str) -> Reply:
        """Record the person's opt-out choice as a turn on the channel they last used."""
        stored = person.response.progress.get("channel") if person.response else ""
        return self._turn(uow, person, channel_row(str(stored or person.preferred_channel)),
                          Event(EventKind.OPT_OUT if opted_out else EventKind.OPT_IN),
                          None, actor)

    def _whole_number(self, uow: UnitOfWork, who: Who, opted_out: bool, actor: str) -> None:
        """A choice sent from a number (or chat) stops or starts it at the provider, so
        every site's record of that number follows, not only the one the message was
        routed to. A choice staff record for one participant (``who`` an id) stays theirs."""
        if not isinstance(who, Sender):
            return
        for holder in uow.repo.holders(who.kind, who.value):
            if holder.opted_out != opted_out:
                self._choose(uow, self._person(uow, holder.id, None, None), opted_out, actor)

    def _in_one(self, work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in one unit of work, committed when it returns."""
        with self.uow_factory() as uow:
            result = work(uow)
            uow.commit()
            return result

    def _person(self, uow: UnitOfWork, who: Who, inbound: tuple[str, str] | None,
                row: Channel | None) -> Person:
        """The person a turn is for; UnknownParticipant (an unknown sender audited,
        and committed with nothing else) when there is none."""
        repo: Repository = uow.repo
        person = (repo.turn_person(contact=(who.kind, who.value), inbound=inbound)
                  if isinstance(who, Sender) else
                  repo.turn_person(participant_id=who, inbound=inbound))
        if person is None:
            if isinstance(who, Sender):
                repo.audit(row.name if row else who.kind, "unknown_sender")
                uow.commit()
            raise UnknownParticipant(who)
        return person

    def _survey_of(self, uow: UnitOfWork, person: Person) -> Chosen:
        """The survey (and its version) the person's current response answers, or will
        answer when it starts: the one their site's plan asks at their timepoint (or for
        the entry they are adding)."""
        stored, session = person.response, uow.session
        if stored is not None:
            return Chosen(stored.survey_version_id or 0, self.catalogue.version(
                session, stored.survey_version_id, stored.survey_id))
        return self.catalogue.current(session, person.site_id, person.respondent_type,
                                      person.wave,
                                      self.catalogue.plan_version(session, person.plan_id))

    def _offers(self, uow: UnitOfWork, person: Person) -> tuple[EntryOffer, ...]:
        """The open-ended entries the person's site offers (cached with its plan)."""
        plan = self.catalogue.plan_version(uow.session, person.plan_id)
        return _entry_offers(plan)

    def _turn(self, uow: UnitOfWork, person: Person, row: Channel, event: Event,
              inbound: tuple[str, str] | None, actor: str, audio: Audio | None = None,
              interviewer: str = "") -> Reply:
        """Run one event through the engine and write what it decided (uncommitted),
        with ``audio`` when the event is a recording the engine takes; ``interviewer``
        names the worker conducting it, if any."""
        if person.seen_reply is not None:
            return Reply(tuple(Prompt.from_dict(p) for p in person.seen_reply),
                         duplicate=True, needs=person.needs, language=person.language)
        stored = person.response
        now = utcnow()
        chosen = self._survey_of(uow, person)
        survey = chosen.survey
        if stored is None:
            progress = begin(survey, person.wave, person.language, row.name,
                             row.capabilities, person.about_code if person.about_id else "")
            idle = 0.0
        else:
            progress = Progress.from_dict(stored.progress, row.capabilities)
            idle = (now - as_utc(stored.updated_at)).total_seconds() / 3600
        progress.channel = row.name
        progress.language = person.language
        step = advance(survey, progress, event,
                       Safeguarding.for_site(person.worrying_words, person.contact_text),
                       Standing(person.opted_out, idle, self._offers(uow, person),
                                person.entry_wave))
        if step.start_entry:
            return self._open_entry(uow, person, step.start_entry, row, inbound, actor,
                                    interviewer)
        kept = ((uow.repo.vault.encrypt(step.kept), ", ".join(step.kept_concerns)[:200])
                if step.kept else None)
        # Encrypted only once the engine took it: a recording at a question that takes
        # none (or a retry) costs nothing and leaves nothing.
        taken = [{"key": key_of(r.recording), "question_id": r.question_id,
                  "channel": row.name, "content_type": audio.content_type,
                  "duration": audio.duration, "size": len(audio.data),
                  "audio": uow.repo.vault.encrypt_bytes(audio.data)}
                 for r in step.recorded
                 if audio is not None and key_of(event.value) and r.recording == event.value]
        write = replace(_write(step, row.name, inbound, now,
                               actor or f"participant by {row.name}", stored is not None,
                               chosen.version_id or None, kept, interviewer,
                               about_id=person.about_id),
                    recordings=taken)
        if person.entry_wave and step.progress.finished:
            write = replace(write, close_entry=True)
        uow.repo.save_turn(person, survey.id, write, now)
        reply = Reply(step.prompts, write.status, needs=person.needs, language=person.language,
                      choice=step.opted_out)
        if person.about_id and step.progress.status in (Status.COMPLETED, Status.DECLINED):
            return self._next_about(uow, person, row, reply, actor, interviewer)
        return reply

    def _next_about(self, uow: UnitOfWork, person: Person, row: Channel, reply: Reply,
                    actor: str, interviewer: str) -> Reply:
        """After the answers about one person, start those about the next person this
        family member or professional speaks about, if any are still to give."""
        if not uow.repo.move_to_next_about(person.id, person.current_wave,
                                           person.current_occurrence):
            return reply
        following = self._turn(uow, self._person(uow, person.id, None, row), row,
                               Event(EventKind.START), None, actor, interviewer=interviewer)
        return replace(following, prompts=reply.prompts + following.prompts)

    def _open_entry(self, uow: UnitOfWork, person: Person, entry: str, row: Channel,
                    inbound: tuple[str, str] | None, actor: str, interviewer: str) -> Reply:
        """Open a new ``entry`` (the next number of it) for the person and start it; the
        timepoint they were answering waits, and carries on when the entry is done."""
        uow.repo.open_entry(person.id, entry)
        opened = self._person(uow, person.id, inbound, row)
        return self._turn(uow, opened, row, Event(EventKind.START), inbound, actor,
                          interviewer=interviewer)


def _closed(person: Person, event: Event) -> str:
    """Why ``event`` cannot run on the person's page (a web link, an interview): their
    survey's finished status, or they opted out; "" when it can. A finished survey
    still opens the entries the site offers."""
    stored = person.response
    status = "opted_out" if person.opted_out else (
        str(stored.progress.get("status", "")) if stored else "")
    return status if status in FINISHED_STATUSES and event.kind != EventKind.ENTRY else ""


def _entry_offers(plan: Plan) -> tuple[EntryOffer, ...]:
    return tuple(EntryOffer(e.name, e.keywords, e.labels) for e in plan.entries)


def _entry_elsewhere(invited_on: str, opened_on: Channel) -> bool:
    """True when an invitation made for another channel that has a link of its own (a
    Telegram deep link) is opened here: a token opens only its own channel's entry."""
    own = CHANNELS.get(invited_on)
    return (own is not None and own.name != opened_on.name and own.reach == Reach.LINK
            and bool(own.contact))


def _write(step: Step, channel: str, inbound: tuple[str, str] | None, now: datetime,
           actor: str, stored: bool, version_id: int | None,
           kept: tuple[bytes, str] | None, interviewer: str = "",
           about_id: int | None = None) -> TurnWrite:
    """What ``step`` stores: the answers as the person gave them (on their own, or with
    ``interviewer``, the worker), and the progress. A flag on an answer about someone
    (``about_id``) names them, so their page shows it and erasing them removes it."""
    mode = Conducted.INTERVIEW if interviewer else Conducted.SELF
    progress = step.progress
    who = progress.who_answered
    return TurnWrite(
        progress=progress.to_dict(), status=response_status(progress.status),
        who_answered=who, channel=channel, consent_given=step.consent_given,
        completed=progress.status == "completed",
        answers=[{"question_id": r.question_id, "status": r.status,
                  "value_code": r.code, "value_label": r.label, "text": r.text,
                  "recording": r.recording, "raw": r.raw, "channel": channel,
                  "who_answered": who, "answered_at": now, "mode": mode.value,
                  "interviewer": interviewer} for r in step.recorded],
        withdrawn=step.withdrawn,
        flags=[*({"question_id": r.question_id, "text": r.text or r.recording or r.label,
                  "matched": ", ".join(r.concerns)[:200], "about_id": about_id}
                 for r in step.recorded if r.concerns),
               # A worrying message outside the survey reaches the review queue too; it
               # answers no question about anyone.
               *([{"question_id": KEPT_MESSAGE, "text": step.kept,
                   "matched": ", ".join(step.kept_concerns)[:200], "about_id": None}]
                 if step.kept_concerns else [])],
        reply=[p.to_dict() for p in step.prompts], inbound=inbound,
        # A response is stored once something was asked: a first message that only
        # opts out leaves the person's choice and no empty response.
        store_response=stored or bool(progress.asked),
        opted_out=step.opted_out, actor=actor, survey_version_id=version_id, kept=kept)
