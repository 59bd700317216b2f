"""Fault tests for the SMS webhook: many people at once, every text twice, a killed worker.

The real app runs under gunicorn on loopback (as the Procfile runs it) on the test
database; texts are signed with the real RequestValidator. What each person sent is
played once through the pure engine beforehand (``bench.respondents``), and after the
load the database must hold exactly those answers for each person: nothing lost,
nothing twice, nothing crossed between people.
"""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from bench.respondents import (
    SMS_PATH,
    Respondent,
    SignedText,
    deliver,
    enrol,
    respondents,
    signed_text,
)
from bench.rounds import PRODUCT_APP
from storage.models import InboundMessage, Response
from tests.conftest import PUBLIC_BASE_URL
from tests.helpers import stored_answers
from tests.servers import Gunicorn, gunicorn
from web_survey.config import ENV_SETTINGS

from .twilio_fakes import AUTH_TOKEN, twilio_settings

pytestmark = [pytest.mark.fault, pytest.mark.slow]

# Gunicorn as the Procfile runs it by default: 2 workers of 4 threads.
WORKERS, THREADS = 2, 4
# Client threads: more than the workers' threads, so every thread always has work.
CLIENTS = 24
# A dropped connection is tried again this often, as Twilio retries a failed webhook.
ATTEMPTS = 5


@pytest.fixture
def app_config(app_config):
    app_config.update(twilio_settings())
    return app_config


@pytest.fixture
def served(app, app_config, tmp_path) -> Iterator[Gunicorn]:
    """The test app under gunicorn, on the test database, configured as ``app`` is."""
    env = {name: str(app_config.get(name, "")) for name in ENV_SETTINGS}
    env["QUIET_HOURS"] = "none"  # the environment cannot say "no quiet hours" with ""
    with gunicorn(PRODUCT_APP, env, WORKERS, THREADS, tmp_path / "gunicorn.log") as server:
        yield server


def text(person: Respondent, index: int) -> SignedText:
    return signed_text(person, index, PUBLIC_BASE_URL + SMS_PATH, AUTH_TOKEN)


def deliver_together(base_url: str, signed: SignedText) -> list[tuple[int, bytes]]:
    """Post the same text on two connections before reading either answer."""
    parts = urlsplit(base_url)
    connections = [http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
                   for _ in range(2)]
    try:
        for connection in connections:
            connection.request("POST", SMS_PATH, body=urlencode(signed.form), headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signed.signature})
        answers = [connection.getresponse() for connection in connections]
        return [(answer.status, answer.read()) for answer in answers]
    finally:
        for connection in connections:
            connection.close()


def stored_message_ids(nsw: Any) -> list[str]:
    with nsw.uow() as uow:
        return list(uow.session.scalars(select(InboundMessage.provider_id)))


def run_all(people: list[Respondent], converse: Callable[[int, Respondent], None]) -> None:
    """Every person's conversation at once, ``CLIENTS`` at a time; errors are raised."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(converse, range(len(people)), people))


def test_every_text_delivered_twice_is_recorded_exactly_once(served, nsw):
    """200 people text at once and Twilio delivers every text twice: one after the
    other, both at once, or again after the person's next text. Both deliveries get
    the same reply and each person's answers are exactly what they sent."""
    people = respondents(nsw.surveys, 200)
    enrol(nsw.uow, people)
    mismatched: list[str] = []

    def same(first: tuple[int, bytes], second: tuple[int, bytes], what: str) -> None:
        if first[0] != 200 or first != second:
            mismatched.append(f"{what}: {first[0]} {second[0]}")

    def converse(number: int, person: Respondent) -> None:
        late: tuple[SignedText, tuple[int, bytes]] | None = None
        for index in range(len(person.texts)):
            signed = text(person, index)
            how = (number + index) % 3
            if how == 0:
                first = deliver(served.url, signed)
                same(first, deliver(served.url, signed), f"{person.code} #{index} again")
            elif how == 1:
                first, second = deliver_together(served.url, signed)
                same(first, second, f"{person.code} #{index} together")
            else:
                first = deliver(served.url, signed)
            if late is not None:  # the text before this one, delivered once more now
                same(late[1], deliver(served.url, late[0]), f"{person.code} #{index - 1} late")
            late = (signed, first) if how == 2 else None
        if late is not None:
            same(late[1], deliver(served.url, late[0]), f"{person.code} last, late")

    run_all(people, converse)

    assert mismatched == []
    assert stored_answers(nsw, None, "value_code", "text") == {
        person.code: person.answers for person in people}
    sent = [person.message_sid(i) for person in people for i in range(len(person.texts))]
    assert sorted(stored_message_ids(nsw)) == sorted(sent)


def test_a_worker_killed_mid_load_loses_no_acknowledged_text(served, nsw):
    """kill -9 of a gunicorn worker while texts pour in: every text that got a 200 is
    stored, and a text whose connection was cut, sent again with the same MessageSid,
    is recorded exactly once."""
    people = respondents(nsw.surveys, 60)
    enrol(nsw.uow, people)
    acknowledged: list[str] = []
    cut: list[str] = []
    lock = threading.Lock()
    answered = itertools.count(1)
    killed: list[int] = []

    def kill_a_worker() -> None:
        """Kill a busy worker after every 150 answers, until a request was cut."""
        with lock:
            if cut or len(killed) == 3:
                return
            victim = served.worker_pids()[0]
            killed.append(victim)
        os.kill(victim, signal.SIGKILL)

    def converse(_number: int, person: Respondent) -> None:
        for index in range(len(person.texts)):
            signed = text(person, index)
            for _attempt in range(ATTEMPTS):
                try:
                    status, _body = deliver(served.url, signed)
                except (OSError, http.client.HTTPException):
                    with lock:
                        cut.append(signed.form["MessageSid"])
                    continue
                assert status == 200, f"{person.code} #{index}: {status}"
                with lock:
                    acknowledged.append(signed.form["MessageSid"])
                if next(answered) % 150 == 0:
                    kill_a_worker()
                break
            else:
                raise AssertionError(f"{person.code} #{index} never got an answer")

    run_all(people, converse)

    assert killed and cut, "no request was in a worker when it was killed"
    stored = stored_message_ids(nsw)
    assert set(acknowledged) <= set(stored)
    assert set(cut) <= set(stored)
    assert len(stored) == len(set(stored)) == sum(len(p.texts) for p in people)
    assert stored_answers(nsw, None, "value_code", "text") == {
        person.code: person.answers for person in people}
    with nsw.uow() as uow:
        completed = uow.session.scalar(select(func.count()).select_from(Response).where(
            Response.status == "completed"))
    assert completed == len(people)


def test_twenty_texts_at_once_from_one_person_each_delivered_twice_all_stored(served, nsw):
    """One person sends 20 texts at once and Twilio delivers each twice, both at once.
    Every request gets a 200, both deliveries of a text get the same reply, and every
    text is stored (Twilio does not resend a failed messaging webhook: a 500 is a loss).
    The order they are answered in is the database's to settle."""
    (person,) = respondents(nsw.surveys, 1)
    person = replace(person, texts=("Hello", *(["1", "yes", "2", "no"] * 5)[:19]))
    enrol(nsw.uow, [person])
    deliver(served.url, text(person, 0))
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: deliver_together(served.url, text(person, i)),
                                range(1, 20)))
    failed = [(i, first[0], second[0]) for i, (first, second) in enumerate(results, 1)
              if first[0] != 200 or second[0] != 200]
    assert failed == []
    assert [i for i, (first, second) in enumerate(results, 1) if first != second] == []
    assert sorted(stored_message_ids(nsw)) == sorted(person.message_sid(i) for i in range(20))
