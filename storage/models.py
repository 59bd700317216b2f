"""SQLAlchemy 2 models: sites, participants, contacts, invitations, responses, answers,
recordings, outside measures.

Contact details are never stored in clear: ``Contact.secret`` holds Fernet ciphertext
and ``Contact.lookup`` a keyed hash to find a sender (see ``storage.crypto``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.engine.safeguarding import DEFAULT_WORDS

# Named constraints, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC: SQLite hands stored times back without their zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def split_needs(needs: str) -> list[str]:
    """The communication needs stored as ``audio-first;no-pictures``, as a list."""
    return [n for n in needs.split(";") if n]


class Conducted(StrEnum):
    """How an answer was given: by the person on their own channel, or in an interview
    with a worker (who is named beside it, ``Answer.interviewer``)."""

    SELF = "self"
    INTERVIEW = "interview"


class StaffRole(StrEnum):
    """What a staff account may do (``web_survey/staff/access.py`` enforces it)."""

    ADMIN = "admin"  # every site, and managing sites and staff
    LEAD = "lead"  # everything at their own site
    INTERVIEWER = "interviewer"  # interviews with their own site's participants, no more


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Site(Base):
    """A pilot site (a council): its staff see only its participants."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_text: Mapped[str] = mapped_column(Text, default="")
    # Safeguarding: the site's worrying words (one a line) and who reviews a flag.
    worrying_words: Mapped[str] = mapped_column(Text, default="\n".join(DEFAULT_WORDS))
    safeguarding_lead: Mapped[str] = mapped_column(String(120), default="")
    # Reaching people: the channels to try in turn when one fails or brings no answer
    # (names, comma-separated; empty: only the person's own channel), and the reminder
    # rule (remind after so many days, at most so many times).
    fallback_order: Mapped[str] = mapped_column(String(100), default="", server_default="")
    remind_after_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    remind_most: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    is_tryout: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    participants: Mapped[list[Participant]] = relationship(back_populates="site")

    @property
    def fallback_channels(self) -> tuple[str, ...]:
        """The fallback order as channel names, first to try first."""
        return tuple(name for name in self.fallback_order.split(",") if name)


class Participant(Base):
    """A person in the pilot, known by a pseudonymous code such as ``CAL-0012``."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    respondent_type: Mapped[str] = mapped_column(String(16))
    cohort: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    preferred_channel: Mapped[str] = mapped_column(String(16), default="web")
    needs: Mapped[str] = mapped_column(String(200), default="")
    # The slot the person answers now: a timepoint, which of its pulses (0: a one-off
    # timepoint) and, for a family member or professional, whom it is about.
    current_wave: Mapped[str] = mapped_column(String(16), default="baseline")
    current_occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    current_about_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), default=None)
    # An open-ended entry (a journal, a story) the person is adding, and its number: while
    # one is open it is answered before the timepoint, which carries on after it.
    entry_wave: Mapped[str] = mapped_column(String(16), default="", server_default="")
    entry_occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    is_tryout: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    site: Mapped[Site] = relationship(back_populates="participants")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="participant", cascade="all, delete-orphan")
    # The people a family member or professional speaks about.
    about: Mapped[list[Participant]] = relationship(
        secondary="participant_links",
        primaryjoin="Participant.id == ParticipantLink.participant_id",
        secondaryjoin="Participant.id == ParticipantLink.about_id", order_by="Participant.code",
        viewonly=True)

    @property
    def need_list(self) -> list[str]:
        """Communication needs, such as ``audio-first`` or ``no-pictures``."""
        return split_needs(self.needs)


class ParticipantLink(Base):
    """A family member or professional (``participant``) who answers about a person
    (``about``). One professional may speak about many people, with one phone number."""

    __tablename__ = "participant_links"
    __table_args__ = (UniqueConstraint("participant_id", "about_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"))
    about_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"),
                                          index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """A phone number or Telegram chat id: encrypted, found by a keyed hash.

    Unique within a site, not across sites: a site that enrols a number learns nothing
    of whether another site holds it. A message from a number two sites hold goes to
    the record last used to reach the person (``reached_at``; see storage.turns).
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("site_id", "kind", "lookup"),
                      Index("ix_contacts_kind_lookup", "kind", "lookup"))
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    # The participant's site, kept here so the database holds a number once a site.
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(16))
    lookup: Mapped[str] = mapped_column(String(64))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When an invitation last went to this contact, or the person linked this chat by
    # opening a site's link: None until the site first reaches the person through it.
    reached_at: Mapped[datetime | None] = mapped_column(default=None)
    participant: Mapped[Participant] = relationship(back_populates="contacts")


class Invitation(Base):
    """An invitation to answer one wave on one channel, with an unguessable token."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_channel_claimed_at", "channel", "claimed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    wave: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    about_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="created")
    provider_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    status_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a send (first or reminder) was last claimed: a provider number's sends in a
    # round's window are counted by it (``storage.invitations.claim``).
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # A fallback step: the invitation on the channel tried before this one. Unique, so
    # two rounds at once can never both make the next step (the second insert fails).
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id"), unique=True, index=True, default=None)
    participant: Mapped[Participant] = relationship(foreign_keys=[participant_id])
    about: Mapped[Participant | None] = relationship(foreign_keys=[about_id])
    previous: Mapped[Invitation | None] = relationship(remote_side="Invitation.id")


class Response(Base):
    """One participant's survey in one slot, with the engine's progress as JSON.

    A slot is a timepoint (``wave``), which of its occurrences (0 for a one-off
    timepoint; 1, 2... for the pulses of a recurring one and for journal or story
    entries, whose ``wave`` is the entry type's name) and whom it is about (a family
    member's or professional's answers about a person; None: about themselves).
    """

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("participant_id", "wave", "occurrence", "about_id",
                         name="uq_responses_slot"),
        # about_id is NULL for most rows, and a unique constraint lets NULLs repeat: a
        # person's own responses need an index of their own, or two first messages at
        # once could start the same slot twice.
        Index("uq_responses_own_slot", "participant_id", "wave", "occurrence", unique=True,
              sqlite_where=text("about_id IS NULL"),
              postgresql_where=text("about_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    wave: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    about_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), default=None)
    survey_id: Mapped[str] = mapped_column(String(40))
    # The published version the answers were given to (None: the deployment's own file,
    # as it stood before versions were kept).
    survey_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_versions.id"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="started")
    who_answered: Mapped[str] = mapped_column(String(20), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    progress: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    consent_given: Mapped[bool | None] = mapped_column(Boolean, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Raised by every change (the ORM counts it too): a conversation turn that read an
    # older version writes nothing and runs again (see storage.turns).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    participant: Mapped[Participant] = relationship(foreign_keys=[participant_id])
    about: Mapped[Participant | None] = relationship(foreign_keys=[about_id])
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan")
    # SQLAlchemy declares __mapper_args__ an instance attribute: a ClassVar clashes in mypy.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - mypy: not ClassVar


class Answer(Base):
    """One answer as the person gave it, on the channel they used, when they gave it."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"))
    question_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="answered")
    value_code: Mapped[int | None] = mapped_column(Integer, default=None)
    value_label: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    recording: Mapped[str] = mapped_column(String(255), default="")
    raw: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    who_answered: Mapped[str] = mapped_column(String(20), default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How it was given (``Conducted``) and, in an interview, the staff member's email.
    mode: Mapped[str] = mapped_column(String(16), default="self", server_default="self")
    interviewer: Mapped[str] = mapped_column(String(254), default="", server_default="")
    response: Mapped[Response] = relationship(back_populates="answers")


class SurveyVersion(Base):
    """One published version of a survey: for one site, or (no site) the deployment's own
    shipped file as it stood when first used. Never changed once written, so what an
    earlier answer meant is kept."""

    __tablename__ = "survey_versions"
    __table_args__ = (
        UniqueConstraint("site_id", "survey_id", "version"),
        # A unique constraint lets NULLs repeat: the deployment's own versions (no site)
        # need an index of their own, so two processes cannot both write version 1.
        Index("uq_survey_versions_shipped", "survey_id", "version", unique=True,
              sqlite_where=text("site_id IS NULL"), postgresql_where=text("site_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None,
                                                index=True)
    survey_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)  # the YAML as published
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(254), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why easy-read problems stay


class SitePlan(Base):
    """One published version of a site's plan (timepoints, pulses, entry types)."""

    __tablename__ = "site_plans"
    __table_args__ = (UniqueConstraint("site_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, object]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(254), default="")


class InboundMessage(Base):
    """A provider's message id, seen once: a retry finds it and gets the same reply."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(80))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), default=None)
    reply: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffUser(Base):
    """A member of site staff, or an administrator (no site) who manages sites."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # ``StaffRole``: admin (``is_admin`` is true exactly then), lead or interviewer.
    role: Mapped[str] = mapped_column(String(16), default="lead", server_default="lead")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session's identity: raising it ends every copy of every session
    # (signing out, a password change, disabling the account).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # A disabled account cannot sign in, and its sessions have ended.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    site: Mapped[Site | None] = relationship()


class AuditEntry(Base):
    """Who did what, when: exports, consent changes, erasures, unknown senders."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    site_code: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class DigestSend(Base):
    """One site's weekly digest for one week: claimed by the run that sends it, so two
    runs at once (two workers, a retry) email nobody twice."""

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("site_id", "week"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    week: Mapped[date] = mapped_column(Date)  # the week's first day
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class KeptMessage(Base):
    """A message a person sent when no question was waiting (after finishing, or after
    opting out), kept for their site's staff. Encrypted like a contact: it is outside
    the survey the person agreed to, and may say anything."""

    __tablename__ = "kept_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    concerns: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafeguardingFlag(Base):
    """A free-text answer holding a worrying word, waiting for the site's named reviewer.

    The words are copied here so the flag still shows what was said if the person later
    changes their answer. A family member's or professional's answer about a person
    names that person too (``about``). Erasing either the person who answered or the
    person spoken about deletes the flag.
    """

    __tablename__ = "safeguarding_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    # The person the flagged answer is about (None: the person answering themselves).
    about_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True, default=None)
    wave: Mapped[str] = mapped_column(String(16))
    question_id: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    matched: Mapped[str] = mapped_column(String(200))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    handled_by: Mapped[str] = mapped_column(String(254), default="")
    handled_note: Mapped[str] = mapped_column(Text, default="")
    participant: Mapped[Participant] = relationship(foreign_keys=[participant_id])
    about: Mapped[Participant | None] = relationship(foreign_keys=[about_id])


class SignInAttempt(Base):
    """One try at signing in to the staff area, kept a day to limit guessing."""

    __tablename__ = "sign_in_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class OutsideMeasure(Base):
    """A figure about a person from outside the survey, for a period: hospital admissions,
    emergency medication, staffing hours; any named measure a site imports.

    One value per person, measure and period: importing it again replaces it. Erasing
    the participant deletes their measures.
    """

    __tablename__ = "outside_measures"
    __table_args__ = (UniqueConstraint("participant_id", "measure", "period_start",
                                       "period_end"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(80))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Numeric())
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(254), default="")


class Recording(Base):
    """A spoken answer (a phone recording, a voice note, a file sent from a web page),
    stored once and encrypted like a contact: a voice is as personal as a number.

    The answer holds ``rec:<key>`` (``RECORDING_PREFIX``), so a recording is found from
    the answer and from the review queue's flag. The audio column is deferred: lists of
    recordings never load the sound. The transcript staff type beside it is encrypted
    too, as it says what the voice said. Erasing the participant deletes their
    recordings.
    """

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), default=None, index=True)
    question_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(40))
    # Seconds, as ffprobe measured them (or the provider said); None when neither could.
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    size: Mapped[int] = mapped_column(Integer)  # bytes of audio, before encryption
    audio: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Fernet ciphertext as text (it is base64), so an export reads it like any text.
    transcript: Mapped[str | None] = mapped_column(Text, default=None)
    transcribed_by: Mapped[str] = mapped_column(String(254), default="")
    transcribed_at: Mapped[datetime | None] = mapped_column(default=None)
    participant: Mapped[Participant] = relationship()
    response: Mapped[Response | None] = relationship()


# What an answer's ``recording`` holds for a recording in the recordings table.
RECORDING_PREFIX = "rec:"
# The file ending a recording gets when it is downloaded or packed, by its type.
RECORDING_EXTENSIONS = {"audio/wav": ".wav", "audio/ogg": ".ogg", "audio/webm": ".webm",
                        "audio/mpeg": ".mp3", "audio/mp4": ".m4a"}
