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
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from .models import Base, as_utc, split_needs

_tables = Base.metadata.tables
participants: Table = _tables["participants"]
sites: Table = _tables["sites"]
contacts: Table = _tables["contacts"]
responses: Table = _tables["responses"]
answers: Table = _tables["answers"]
inbound_messages: Table = _tables["inbound_messages"]
safeguarding_flags: Table = _tables["safeguarding_flags"]
audit_log: Table = _tables["audit_log"]
kept_messages: Table = _tables["kept_messages"]
site_plans: Table = _tables["site_plans"]
recordings: Table = _tables["recordings"]

ANSWER_FIELDS = ("status", "value_code", "value_label", "text", "recording", "raw",
                 "channel", "who_answered", "answered_at", "mode", "interviewer")


class StaleTurn(Exception):
    """The response changed after this turn read it: nothing was written."""


@dataclass(frozen=True)
class StoredResponse:
    """The person's response in the current wave, as it was before this turn."""

    id: int
    version: int
    survey_id: str
    survey_version_id: int | None
    progress: dict[str, Any]
    updated_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Person:
    """What a turn needs to know about the person, their site and their response."""

    id: int
    code: str
    site_id: int
    site_code: str
    respondent_type: str
    language: str
    needs: tuple[str, ...]
    current_wave: str
    current_occurrence: int
    current_about_id: int | None
    entry_wave: str  # an open-ended entry being added ("" for none): answered first
    entry_occurrence: int
    preferred_channel: str
    opted_out: bool
    worrying_words: str
    contact_text: str
    plan_id: int | None  # the site's latest published plan (None: the default plan)
    about_code: str  # the code of the person the current timepoint's answers are about
    response: StoredResponse | None
    seen_reply: list[dict[str, Any]] | None  # the reply already sent for this message id

    @property
    def wave(self) -> str:
        """The timepoint or entry type of the response this turn answers."""
        return self.entry_wave or self.current_wave

    @property
    def occurrence(self) -> int:
        """Which pulse of the timepoint, or which entry, this turn answers."""
        return self.entry_occurrence if self.entry_wave else self.current_occurrence

    @property
    def about_id(self) -> int | None:
        """The person the answers are about (None: the person answering)."""
        return None if self.entry_wave else self.current_about_id


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
    flags: Sequence[dict[str, Any]]  # each: question_id, text, matched, about_id
    reply: list[dict[str, Any]]
    inbound: tuple[str, str] | None
    # False when nothing was asked yet (a first message that opts out): no response row.
    store_response: bool = True
    survey_version_id: int | None = None  # the version a new response answers
    # The entry this turn finished: the person's timepoint carries on after it.
    close_entry: bool = False
    # A message sent outside the survey, encrypted, with its worrying words, if any.
    kept: tuple[bytes, str] | None = None
    opted_out: bool | None = None  # the person's new opt-out choice, if they made one
    actor: str = ""  # who made it, for the audit line
    # Recordings the engine took as answers this turn, each: key, question_id, channel,
    # content_type, duration, size and the encrypted audio (the response id is added).
    recordings: Sequence[dict[str, Any]] = ()


def _person_query(by_contact: bool) -> Any:
    seen = (select(inbound_messages.c.reply)
            .where(inbound_messages.c.provider == bindparam("provider"),
                   inbound_messages.c.provider_id == bindparam("provider_id"))
            .scalar_subquery())
    plan = (select(func.max(site_plans.c.id))
            .where(site_plans.c.site_id == participants.c.site_id).scalar_subquery())
    about = participants.alias("about")
    about_code = (select(about.c.code).where(about.c.id == participants.c.current_about_id)
                  .scalar_subquery())
    query = select(participants.c.id, participants.c.code, participants.c.site_id,
                   sites.c.code.label("site_code"), participants.c.respondent_type,
                   participants.c.language, participants.c.needs,
                   participants.c.current_wave, participants.c.current_occurrence,
                   participants.c.current_about_id, participants.c.entry_wave,
                   participants.c.entry_occurrence, participants.c.preferred_channel,
                   participants.c.opted_out,
                   sites.c.worrying_words, sites.c.contact_text, plan.label("plan_id"),
                   about_code.label("about_code"), responses.c.id.label("rid"),
                   responses.c.version, responses.c.survey_id, responses.c.survey_version_id,
                   responses.c.progress,
                   responses.c.updated_at, responses.c.completed_at, seen.label("seen"))
    people = contacts.join(participants) if by_contact else participants
    # The slot answered now: an open entry, else the current timepoint's pulse and
    # person spoken about.
    in_entry = participants.c.entry_wave != ""
    joined = people.join(sites).outerjoin(responses, (
        (responses.c.participant_id == participants.c.id)
        & (responses.c.wave == case((in_entry, participants.c.entry_wave),
                                    else_=participants.c.current_wave))
        & (responses.c.occurrence == case((in_entry, participants.c.entry_occurrence),
                                          else_=participants.c.current_occurrence))
        & (func.coalesce(responses.c.about_id, 0)
           == case((in_entry, literal(0)),
                   else_=func.coalesce(participants.c.current_about_id, 0)))))
    if by_contact:
        # A number two sites hold: the message answers the site that reached the person
        # last (an invitation sent, a chat linked); one never used to reach them waits.
        return (query.select_from(joined)
                .where(contacts.c.kind == bindparam("kind"),
                       contacts.c.lookup == bindparam("lookup"))
                .order_by(contacts.c.reached_at.desc().nulls_last(), contacts.c.id)
                .limit(1))
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
_INSERT_RECORDING = insert(recordings)
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
        row.rid, row.version, row.survey_id, row.survey_version_id, dict(row.progress),
        as_utc(row.updated_at),
        row.completed_at and as_utc(row.completed_at))
    return Person(row.id, row.code, row.site_id, row.site_code, row.respondent_type,
                  row.language, tuple(split_needs(row.needs)), row.current_wave,
                  row.current_occurrence, row.current_about_id, row.entry_wave,
                  row.entry_occurrence, row.preferred_channel, bool(row.opted_out),
                  row.worrying_words, row.contact_text, row.plan_id, row.about_code or "",
                  response, row.seen if inbound else None)


def _replacing(statement: Any) -> Insert:
    """``statement`` (a dialect's INSERT into answers) replacing an earlier answer to the
    same question, as when an answer is changed on review."""
    return statement.on_conflict_do_update(
        index_elements=["response_id", "question_id"],
        set_={name: statement.excluded[name] for name in ANSWER_FIELDS})


_UPSERT_ANSWERS = {"postgresql": _replacing(postgresql.insert(answers)),
                   "sqlite": _replacing(sqlite.insert(answers))}
INBOUND_FIELDS = ("provider", "provider_id", "participant_id", "reply", "received_at")


def _inbound_row(person: Person, write: TurnWrite, now: datetime) -> dict[str, Any]:
    """The provider's message id and the reply sent to it (``write.inbound`` is set)."""
    assert write.inbound is not None
    provider, provider_id = write.inbound
    return {"provider": provider, "provider_id": provider_id, "participant_id": person.id,
            "reply": write.reply, "received_at": now}


@cache
def _postgresql_turn(columns: tuple[str, ...], answered: int, inbound: bool) -> Select[Any]:
    """PostgreSQL: the response's UPDATE, ``answered`` answers and the inbound id as one
    statement (data-modifying CTEs), returning 1 when the version read still matched and
    0 when it did not (then nothing is written: every part selects from the UPDATE).

    One statement instead of three is two fewer round trips to the server for every
    message, the costliest part of a turn on PostgreSQL.
    """
    changed = (update(responses)
               .where(responses.c.id == bindparam("response"),
                      responses.c.version == bindparam("seen"))
               .values({name: bindparam(f"set_{name}", type_=responses.c[name].type)
                        for name in columns})
               .returning(responses.c.id).cte("changed"))
    parts = []
    for number in range(answered):
        given = postgresql.insert(answers).from_select(
            ["response_id", "question_id", *ANSWER_FIELDS],
            select(changed.c.id, *(bindparam(f"a{number}_{name}", type_=answers.c[name].type)
                                   for name in ("question_id", *ANSWER_FIELDS))))
        parts.append(_replacing(given).cte(f"answer{number}"))
    if inbound:
        parts.append(insert(inbound_messages).from_select(
            list(INBOUND_FIELDS),
            select(*(bindparam(f"in_{name}", type_=inbound_messages.c[name].type)
                     for name in INBOUND_FIELDS)).select_from(changed)).cte("seen_id"))
    return select(func.count()).select_from(changed).add_cte(*parts)


def save_turn(connection: Connection, person: Person, survey_id: str, write: TurnWrite,
              now: datetime) -> None:
    """Write one turn: the response (new or changed), its answers, any safeguarding
    flags, and the provider's message id with the reply that was sent.

    ``StaleTurn`` when the response is no longer the version ``person`` holds.
    """
    stored = person.response
    values: dict[str, Any] = {"progress": write.progress, "status": write.status,
                              "who_answered": write.who_answered, "channel": write.channel,
                              "updated_at": now}
    if write.consent_given is not None:
        values["consent_given"] = write.consent_given
    if write.completed and (stored is None or stored.completed_at is None):
        values["completed_at"] = now
    if write.opted_out is not None:
        _opt_out(connection, person, write, now)
    if write.kept is not None:
        _keep(connection, person, write, now)
    if stored is not None and connection.dialect.name == "postgresql":
        _save_postgresql(connection, person, stored, write, values, now)
        return
    if stored is None and not write.store_response:
        if write.inbound:
            connection.execute(_INSERT_INBOUND, _inbound_row(person, write, now))
        _flag(connection, person, write, now)
        return
    if stored is None:
        response_id = connection.execute(_INSERT_RESPONSE, {
            "participant_id": person.id, "wave": person.wave,
            "occurrence": person.occurrence, "about_id": person.about_id, "survey_id": survey_id,
            "survey_version_id": write.survey_version_id, "started_at": now, "version": 1,
            **values}).scalar_one()
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
    if write.inbound:
        connection.execute(_INSERT_INBOUND, _inbound_row(person, write, now))
    _write_rarer(connection, person, response_id, write, now)


_SET_OPTED_OUT = (update(participants)
                  .where(participants.c.id == bindparam("pid"),
                         participants.c.opted_out != bindparam("choice"))
                  .values(opted_out=bindparam("choice")))
_INSERT_AUDIT = insert(audit_log)
_INSERT_KEPT = insert(kept_messages)


def _keep(connection: Connection, person: Person, write: TurnWrite, now: datetime) -> None:
    """Keep a message sent outside the survey, and flag it when its words worry."""
    assert write.kept is not None
    secret, concerns = write.kept
    connection.execute(_INSERT_KEPT, {"site_id": person.site_id, "participant_id": person.id,
                                      "channel": write.channel, "secret": secret,
                                      "concerns": concerns, "received_at": now})


def _opt_out(connection: Connection, person: Person, write: TurnWrite,
             now: datetime) -> None:
    """Store the person's opt-out choice and audit it, once: a second STOP racing the
    first changes no row, so it leaves no second audit line."""
    changed = connection.execute(_SET_OPTED_OUT, {"pid": person.id,
                                                  "choice": write.opted_out}).rowcount
    if changed == 1:
        connection.execute(_INSERT_AUDIT, {
            "at": now, "actor": write.actor, "site_code": person.site_code,
            "action": "opt_out" if write.opted_out else "opt_in",
            "detail": {"participant": person.code}})


_CLOSE_ENTRY = (update(participants).where(participants.c.id == bindparam("pid"))
                .values(entry_wave="", entry_occurrence=0))


def _write_rarer(connection: Connection, person: Person, response_id: int,
                 write: TurnWrite, now: datetime) -> None:
    """The writes few turns make: answers withdrawn by a changed answer, recordings,
    flags, and an entry closed."""
    if write.close_entry:
        connection.execute(_CLOSE_ENTRY, {"pid": person.id})
    if write.withdrawn:
        connection.execute(_DELETE_ANSWERS, {"response_id": response_id,
                                             "question_ids": list(write.withdrawn)})
    if write.recordings:
        connection.execute(_INSERT_RECORDING, [
            {"site_id": person.site_id, "participant_id": person.id,
             "response_id": response_id, "created_at": now, "transcribed_by": "",
             **recording} for recording in write.recordings])
    _flag(connection, person, write, now)


def _flag(connection: Connection, person: Person, write: TurnWrite, now: datetime) -> None:
    """The turn's safeguarding flags, for the site's review queue."""
    if write.flags:
        connection.execute(_INSERT_FLAG, [
            {"site_id": person.site_id, "participant_id": person.id,
             "wave": person.wave, "flagged_at": now, **flag}
            for flag in write.flags])


def _save_postgresql(connection: Connection, person: Person, stored: StoredResponse,
                     write: TurnWrite, values: dict[str, Any], now: datetime) -> None:
    """``save_turn`` for a response that exists, on PostgreSQL: see ``_postgresql_turn``."""
    values = {**values, "version": stored.version + 1}
    statement = _postgresql_turn(tuple(values), len(write.answers), write.inbound is not None)
    params: dict[str, Any] = {"response": stored.id, "seen": stored.version}
    params.update((f"set_{name}", value) for name, value in values.items())
    for number, answer in enumerate(write.answers):
        params.update((f"a{number}_{name}", value) for name, value in answer.items())
    if write.inbound:
        params.update((f"in_{name}", value)
                      for name, value in _inbound_row(person, write, now).items())
    if connection.execute(statement, params).scalar_one() != 1:
        raise StaleTurn(stored.id)
    _write_rarer(connection, person, stored.id, write, now)
