"""PostgreSQL restarted under load: the app reconnects by itself and loses nothing.

A private server (initdb in a temporary folder, its own loopback port) is stopped and
started again while simulated respondents text their answers in through the real
``Conversations.handle``. Like Twilio, a respondent whose message failed sends it again
with the same message id until it goes through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from bot.engine import Event, advance, begin
from storage.db import normalise_url
from storage.migrate import upgrade
from storage.models import Answer, InboundMessage, Response
from tests.servers import PrivatePostgres, wait_until

RESPONDENTS = 24
THREADS = 6
# A message still failing after this many tries fails the test instead of hanging it.
MAX_TRIES = 400


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    try:
        server = PrivatePostgres()
    except (OSError, LookupError) as error:  # no initdb, no runuser, no postgres user
        pytest.skip(f"cannot start a private PostgreSQL: {error}")
    try:
        server.start()
        engine = create_engine(normalise_url(server.url))
        upgrade(engine)
        engine.dispose()
        yield server
    finally:
        server.remove()


@pytest.fixture
def on_private_pg(private_pg: PrivatePostgres, app_config) -> PrivatePostgres:
    """Point the app (ask for this before ``app``) at the private server."""
    app_config["DATABASE_URL"] = private_pg.url
    return private_pg


def script(nsw, survey_id: str) -> tuple[list[str], dict[str, int | None]]:
    """Replies that finish ``survey_id`` by pressing 1 each time, and the answers the
    pure engine records for them: what the database must hold afterwards."""
    survey = nsw.surveys.get(survey_id)
    step = advance(survey, begin(survey, "baseline", "en", "sms"), Event("start"))
    replies: list[str] = []
    recorded: dict[str, int | None] = {}
    while not step.progress.finished:
        replies.append("1")
        step = advance(survey, step.progress, Event("text", "1"))
        recorded.update({r.question_id: r.code for r in step.recorded})
    return replies, recorded


@dataclass
class Load:
    """Respondents texting in on a few threads, counting what went through and what not."""

    nsw: object
    people: list[tuple[int, str]]
    replies: list[str]
    ok: int = 0
    failed: int = 0
    unexpected: list[BaseException] = field(default_factory=list)
    enough: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, participant_id: int, code: str, number: int, event: Event) -> None:
        """One message, sent again (same id) until the app takes it."""
        for _ in range(MAX_TRIES):
            try:
                self.nsw.conversations.handle(participant_id, "sms", event,
                                              inbound=("twilio", f"SM-{code}-{number}"))
            except DBAPIError:
                with self.lock:
                    self.failed += 1
                threading.Event().wait(0.05)  # a provider backs off before retrying
                continue
            with self.lock:
                self.ok += 1
                if self.ok >= len(self.people) * len(self.replies) // 3:
                    self.enough.set()
            return
        raise AssertionError(f"message {number} of {code} never went through")

    def respondent(self, participant_id: int, code: str) -> None:
        self.send(participant_id, code, 0, Event("start"))
        for number, reply in enumerate(self.replies, start=1):
            self.send(participant_id, code, number, Event("text", reply))

    def worker(self, mine: list[tuple[int, str]]) -> None:
        try:
            for participant_id, code in mine:
                self.respondent(participant_id, code)
        except BaseException as error:  # reported by the test, not lost in a thread
            self.unexpected.append(error)
            self.enough.set()


def started_at(url: str) -> object:
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        moment = connection.scalar(text("SELECT pg_postmaster_start_time()"))
    engine.dispose()
    return moment


def test_answers_survive_a_postgresql_restart_mid_load(on_private_pg, nsw, make_participant):
    replies, expected = script(nsw, "individual")
    people = [(make_participant(code=f"CAL-{n:04d}", phone=f"+4477009{n:05d}"),
               f"CAL-{n:04d}") for n in range(RESPONDENTS)]
    load = Load(nsw, people, replies)
    threads = [threading.Thread(target=load.worker, args=(people[n::THREADS],))
               for n in range(THREADS)]
    first_start = started_at(on_private_pg.url)
    for thread in threads:
        thread.start()

    wait_until(load.enough.is_set, "a third of the messages to go through")
    on_private_pg.stop("fast")
    # While the server is down every message fails; wait until the load has seen that.
    wait_until(lambda: load.failed > 0 or not any(t.is_alive() for t in threads),
               "a message to fail while PostgreSQL is down")
    on_private_pg.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not load.unexpected, load.unexpected
    assert not any(thread.is_alive() for thread in threads)
    assert started_at(on_private_pg.url) != first_start
    assert load.failed > 0, "the restart happened after the load had finished"
    assert load.ok == RESPONDENTS * (len(replies) + 1)
    with nsw.uow() as uow:
        # Every message that went through is stored once, however often it was sent.
        inbound = uow.session.scalar(select(func.count()).select_from(InboundMessage))
        assert inbound == RESPONDENTS * (len(replies) + 1)
        for participant_id, code in people:
            response = uow.session.scalar(select(Response).where(
                Response.participant_id == participant_id))
            stored = {a.question_id: a.value_code for a in response.answers}
            assert (code, stored, response.status) == (code, expected, "completed")
        assert uow.session.scalar(select(func.count()).select_from(Answer)) == (
            RESPONDENTS * len(expected))


def test_the_first_message_after_a_restart_goes_through(on_private_pg, nsw, make_participant):
    people = [make_participant(code=f"CAL-{n:04d}", phone=f"+4477009{n:05d}")
              for n in range(3)]
    # Fill the pool with connections the restart will cut.
    engine = nsw.engine
    held = [engine.connect() for _ in people]
    for connection in held:
        connection.execute(text("SELECT 1"))
        connection.close()

    on_private_pg.stop("fast")
    on_private_pg.start()

    # No retry here: the pool notices each dead connection before handing it out.
    for participant_id in people:
        reply = nsw.conversations.handle(participant_id, "sms", Event("start"),
                                         inbound=("twilio", f"SM-after-{participant_id}"))
        assert reply.question is not None
