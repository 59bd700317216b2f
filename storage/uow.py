"""The unit of work and the repository behind it.

Everything one inbound event changes (the answer, the progress, the provider id, the
reply) commits together or not at all: a crash between them can never leave an answer
without its progress, or a progress that skipped an answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from bot.engine import ResponseStatus

from . import turns
from .crypto import Vault
from .models import (
    AuditEntry,
    Contact,
    Invitation,
    Participant,
    ParticipantLink,
    Response,
    Site,
    utcnow,
)

TRYOUT_SITE = "TRYOUT"


class InvalidPhone(ValueError):
    """A phone number that cannot be read as a real number."""


def normalise_phone(raw: str, region: str = "GB") -> str:
    """E.164 for a phone number written any usual way (``07700 900123``, ``+44...``)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(f"{raw!r} is not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def new_token() -> str:
    """An unguessable invitation token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class Repository:
    """Queries and changes over one session. No commits here: the unit of work commits."""

    def __init__(self, session: Session, vault: Vault) -> None:
        self.session = session
        self.vault = vault

    # sites and participants
    def site(self, code: str) -> Site | None:
        return self.session.scalar(select(Site).where(Site.code == code))

    def participant(self, code: str) -> Participant | None:
        return self.session.scalar(select(Participant).where(Participant.code == code))

    def participant_by_id(self, participant_id: int) -> Participant | None:
        """The participant, with their site (every conversation reads it) in one query."""
        return self.session.get(Participant, participant_id,
                                options=[joinedload(Participant.site)])

    def tryout_site(self) -> Site:
        """The hidden site that holds try-out answers, kept out of every export."""
        site = self.site(TRYOUT_SITE)
        if site is None:
            site = Site(code=TRYOUT_SITE, name="Try-out (not real data)", is_tryout=True)
            self.session.add(site)
            self.session.flush()
        return site

    # contacts
    def set_contact(self, participant: Participant, kind: str, value: str) -> Contact:
        """Store ``value`` encrypted for ``participant``, replacing one of the same kind."""
        for old in [c for c in participant.contacts if c.kind == kind]:
            participant.contacts.remove(old)
        self.session.flush()
        contact = Contact(kind=kind, lookup=self.vault.lookup(kind, value),
                          site_id=participant.site_id, secret=self.vault.encrypt(value))
        participant.contacts.append(contact)
        return contact

    def contact_value(self, participant: Participant, kind: str) -> str | None:
        """The decrypted contact of ``kind``, if the participant has one."""
        contact = next((c for c in participant.contacts if c.kind == kind), None)
        return self.vault.decrypt(contact.secret) if contact else None

    def _holding(self, kind: str, value: str) -> Select[Participant]:
        """Participants holding a phone number or chat id, found through the keyed hash."""
        return (select(Participant).join(Participant.contacts)
                .where(Contact.kind == kind, Contact.lookup == self.vault.lookup(kind, value))
                .options(joinedload(Participant.site)))

    def participant_by_contact(self, site_id: int, kind: str,
                               value: str) -> Participant | None:
        """The participant of site ``site_id`` holding a phone number or chat id. Only
        within one site: what another site holds is none of this site's business."""
        return self.session.scalar(self._holding(kind, value)
                                   .where(Contact.site_id == site_id))

    def holders(self, kind: str, value: str) -> list[Participant]:
        """Every participant, at any site, holding this phone number or chat id: a
        person may take part at two sites, and a provider's opt-out covers the number."""
        return list(self.session.scalars(
            self._holding(kind, value).order_by(Participant.id)
            .execution_options(populate_existing=True)))

    def mark_reached(self, participant: Participant, kind: str, when: datetime) -> None:
        """Record that ``participant``'s site reached them through their contact of
        ``kind`` now: a message from a number two sites hold goes to the latest."""
        for contact in participant.contacts:
            if contact.kind == kind:
                contact.reached_at = when

    # responses
    def response(self, participant: Participant, wave: str, occurrence: int = 0,
                 about_id: int | None = None) -> Response | None:
        """``participant``'s response in ``wave`` (its ``occurrence``, and about whom)."""
        about = (Response.about_id.is_(None) if about_id is None
                 else Response.about_id == about_id)
        return self.session.scalar(select(Response).where(
            Response.participant_id == participant.id, Response.wave == wave,
            Response.occurrence == occurrence, about))

    def open_entry(self, participant_id: int, entry: str) -> int:
        """Open the next ``entry`` (a journal or story entry) for the participant: their
        turns answer it until it is finished. Returns its number."""
        number = (self.session.scalar(select(func.max(Response.occurrence)).where(
            Response.participant_id == participant_id, Response.wave == entry)) or 0) + 1
        self.session.execute(update(Participant).where(Participant.id == participant_id)
                             .values(entry_wave=entry, entry_occurrence=number))
        return number

    def move_to_next_about(self, participant_id: int, wave: str, occurrence: int) -> bool:
        """Point the participant at the next person they speak about (by code) whose
        answers at this timepoint are not given yet; False when there is none."""
        finished = (select(Response.about_id).where(
            Response.participant_id == participant_id, Response.wave == wave,
            Response.occurrence == occurrence, Response.about_id.is_not(None),
            Response.status != ResponseStatus.STARTED))
        following = self.session.scalar(
            select(ParticipantLink.about_id)
            .join(Participant, Participant.id == ParticipantLink.about_id)
            .where(ParticipantLink.participant_id == participant_id,
                   ParticipantLink.about_id.not_in(finished))
            .order_by(Participant.code).limit(1))
        if following is None:
            return False
        self.session.execute(update(Participant).where(Participant.id == participant_id)
                             .values(current_about_id=following))
        return True

    # one conversation turn, in SQLAlchemy Core (see storage.turns)
    def turn_person(self, participant_id: int | None = None, contact: tuple[str, str] = ("", ""),
                    inbound: tuple[str, str] | None = None) -> turns.Person | None:
        """The person by id or by ``contact`` (kind, value), with their current-wave
        response and the reply already sent for ``inbound`` if that provider message was
        seen before."""
        kind, value = contact
        return turns.find_person(self.session.connection(), participant_id=participant_id,
                                 kind=kind, lookup=self.vault.lookup(kind, value) if kind
                                 else "", inbound=inbound)

    def save_turn(self, person: turns.Person, survey_id: str, write: turns.TurnWrite,
                  now: datetime) -> None:
        """Write one turn's response, answers, flags and inbound id (uncommitted);
        ``turns.StaleTurn`` when the response changed since ``person`` was read."""
        turns.save_turn(self.session.connection(), person, survey_id, write, now)

    # invitations
    def add_invitation(self, participant: Participant, wave: str, channel: str,
                       occurrence: int = 0, about_id: int | None = None) -> Invitation:
        """A new invitation (with its own token) to ``wave``'s ``occurrence``, about
        ``about_id`` when a family member or professional answers about someone."""
        invitation = Invitation(participant=participant, wave=wave, channel=channel,
                                token=new_token(), occurrence=occurrence, about_id=about_id)
        self.session.add(invitation)
        return invitation

    def invitation(self, token: str) -> Invitation | None:
        return self.session.scalar(select(Invitation).where(Invitation.token == token))

    def invitation_by_provider_id(self, provider_id: str) -> Invitation | None:
        """The invitation a provider's message or call id (MessageSid, CallSid) belongs to."""
        return self.session.scalar(
            select(Invitation).where(Invitation.provider_id == provider_id))

    # audit
    def audit(self, actor: str, action: str, site_code: str = "",
              **detail: Any) -> AuditEntry:
        """Write one audit line. Never put contact details in ``detail``."""
        entry = AuditEntry(actor=actor, action=action, site_code=site_code, detail=detail,
                           at=utcnow())
        self.session.add(entry)
        return entry

    def add_all(self, objects: Iterable[object]) -> None:
        self.session.add_all(objects)


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back."""

    def __init__(self, session_factory: sessionmaker[Session], vault: Vault) -> None:
        self.session_factory = session_factory
        self.vault = vault

    def __enter__(self) -> UnitOfWork:
        self.session = self.session_factory()
        self.repo = Repository(self.session, self.vault)
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
