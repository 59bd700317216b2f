"""One conversation turn's reads and writes, in as few statements as the database allows.

Every text, key press, button and web answer passes through here, so it is written in
SQLAlchemy Core, not the ORM: one query reads the person, their site, their response
and whether this provider message was seen before; then one statement a table writes
the response, the answers and the provider's message id. The caller's unit of work
commits them together.

Nothing is locked while the engine works. The response's version is checked instead:
the UPDATE names the version that was read, and when another message from the same
person changed the response in between it matches nothing, ``StaleTurn`` is raised and
the caller runs the turn again on what is there now. A first message racing another
first message meets the unique (participant, wave) constraint instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, Insert, Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .models import Base, as_utc

_tables = Base.metadata.tables
participants: Table = _tables["participants"]
sites: Table = _tables["sites"]
contacts: Table = _tables["contacts"]
responses: Table = _tables["responses"]
answers: Table = _tables["answers"]
inbound_messages: Table = _tables["inbound_messages"]
safeguarding_flags: Table = _tables["safeguarding_flags"]

ANSWER_FIELDS = ("status", "value_code", "value_label", "text", "recording", "raw",
                 "channel", "who_answered", "answered_at")


class StaleTurn(Exception):
    """The response changed after this turn read it: nothing was written."""


@dataclass(frozen=True)
class StoredResponse:
    """The person's response in the current wave, as it was before this turn."""

    id: int
    version: int
    survey_id: str
    progress: dict[str, Any]
    updated_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Person:
    """What a turn needs to know about the person, their site and their response."""

    id: int
    site_id: int
    respondent_type: str
    language: str
    needs: tuple[str, ...]
    current_wave: str
    opted_out: bool
    worrying_words: str
    contact_text: str
    response: StoredResponse | None
    seen_reply: list[dict[str, Any]] | None  # the reply already sent for this message id


@dataclass(frozen=True)
class TurnWrite:
    """Everything one turn stores, ready to write."""

    progress: dict[str, Any]
    status: str
    who_answered: str
    channel: str
    consent_given: bool | None
    completed: bool
    answers: Sequence[dict[str, Any]]  # each: question_id and the ANSWER_FIELDS
    withdrawn: Sequence[str]
    flags: Sequence[dict[str, Any]]  # each: question_id, text, matched
    reply: list[dict[str, Any]]
    inbound: tuple[str, str] | None


def _person_query(by_contact: bool) -> Any:
    seen = (select(inbound_messages.c.reply)
            .where(inbound_messages.c.provider == bindparam("provider"),
                   inbound_messages.c.provider_id == bindparam("provider_id"))
            .scalar_subquery())
    query = select(participants.c.id, participants.c.site_id, participants.c.respondent_type,
                   participants.c.language, participants.c.needs,
                   participants.c.current_wave, participants.c.opted_out,
                   sites.c.worrying_words, sites.c.contact_text, responses.c.id.label("rid"),
                   responses.c.version, responses.c.survey_id, responses.c.progress,
                   responses.c.updated_at, responses.c.completed_at, seen.label("seen"))
    people = contacts.join(participants) if by_contact else participants
    joined = people.join(sites).outerjoin(responses, and_(
        responses.c.participant_id == participants.c.id,
        responses.c.wave == participants.c.current_wave))
    if by_contact:
        return query.select_from(joined).where(contacts.c.kind == bindparam("kind"),
                                               contacts.c.lookup == bindparam("lookup"))
    return query.select_from(joined).where(participants.c.id == bindparam("participant_id"))


# Built once: building a statement costs more than running a cached one.
_BY_CONTACT = _person_query(by_contact=True)
_BY_ID = _person_query(by_contact=False)
_INSERT_RESPONSE = insert(responses).returning(responses.c.id)
# The SET columns are the keys of the parameters: a turn that changes no consent or
# completion leaves those columns alone.
_UPDATE_RESPONSE = update(responses).where(responses.c.id == bindparam("response"),
                                           responses.c.version == bindparam("seen"))
_INSERT_INBOUND = insert(inbound_messages)
_INSERT_FLAG = insert(safeguarding_flags)
_DELETE_ANSWERS = delete(answers).where(
    answers.c.response_id == bindparam("response_id"),
    answers.c.question_id.in_(bindparam("question_ids", expanding=True)))


def find_person(connection: Connection, *, participant_id: int | None = None,
                kind: str = "", lookup: str = "",
                inbound: tuple[str, str] | None = None) -> Person | None:
    """The person by id, or by a contact's keyed hash; with the reply already sent for
    ``inbound`` (provider, message id) if that message was seen before."""
    provider, provider_id = inbound or ("", "")
    params = {"provider": provider, "provider_id": provider_id}
    if participant_id is None:
        row = connection.execute(_BY_CONTACT, {**params, "kind": kind,
                                               "lookup": lookup}).first()
    else:
        row = connection.execute(_BY_ID, {**params, "participant_id": participant_id}).first()
    if row is None:
        return None
    response = None if row.rid is None else StoredResponse(
        row.rid, row.version, row.survey_id, dict(row.progress), as_utc(row.updated_at),
        row.completed_at and as_utc(row.completed_at))
    return Person(row.id, row.site_id, row.respondent_type, row.language,
                  tuple(n for n in row.needs.split(";") if n), row.current_wave,
                  bool(row.opted_out), row.worrying_words, row.contact_text, response,
                  row.seen if inbound else None)


def _upsert_answers(dialect: ModuleType) -> Insert:
    """INSERT that replaces an earlier answer to the same question (changed on review)."""
    statement = dialect.insert(answers)
    return statement.on_conflict_do_update(
        index_elements=["response_id", "question_id"],
        set_={name: statement.excluded[name] for name in ANSWER_FIELDS})


_UPSERT_ANSWERS = {"postgresql": _upsert_answers(postgresql),
                   "sqlite": _upsert_answers(sqlite)}


def save_turn(connection: Connection, person: Person, survey_id: str, write: TurnWrite,
              now: datetime) -> None:
    """Write one turn: the response (new or changed), its answers, any safeguarding
    flags, and the provider's message id with the reply that was sent.

    ``StaleTurn`` when the response is no longer the version ``person`` holds.
    """
    stored, wave = person.response, person.current_wave
    values: dict[str, Any] = {"progress": write.progress, "status": write.status,
                              "who_answered": write.who_answered, "channel": write.channel,
                              "updated_at": now}
    if write.consent_given is not None:
        values["consent_given"] = write.consent_given
    if write.completed and (stored is None or stored.completed_at is None):
        values["completed_at"] = now
    if stored is None:
        response_id = connection.execute(_INSERT_RESPONSE, {
            "participant_id": person.id, "wave": wave, "survey_id": survey_id,
            "started_at": now, "version": 1, **values}).scalar_one()
    else:
        response_id = stored.id
        changed = connection.execute(_UPDATE_RESPONSE, {
            "response": response_id, "seen": stored.version, "version": stored.version + 1,
            **values}).rowcount
        if changed != 1:
            raise StaleTurn(response_id)
    if write.answers:
        connection.execute(_UPSERT_ANSWERS[connection.dialect.name],
                           [{"response_id": response_id, **answer}
                            for answer in write.answers])
    if write.withdrawn:
        connection.execute(_DELETE_ANSWERS, {"response_id": response_id,
                                             "question_ids": list(write.withdrawn)})
    if write.flags:
        connection.execute(_INSERT_FLAG, [
            {"site_id": person.site_id, "participant_id": person.id, "wave": wave,
             "flagged_at": now, **flag}
            for flag in write.flags])
    if write.inbound:
        connection.execute(_INSERT_INBOUND, {
            "provider": write.inbound[0], "provider_id": write.inbound[1],
            "participant_id": person.id, "reply": write.reply, "received_at": now})
