"""Benchmark: how soon the Telegram webhook says "received", against a bare INSERT route.

Telegram waits for the webhook's answer before it sends that chat's next update, and
resends what is not acknowledged; the product answers only once the update is stored
and the bot's replies are sent (``WebhookBot.process``), so its acknowledgement waits
on the database and on the Bot API. For each database (a SQLite file; a private schema
on PostgreSQL) it enrols ``--participants`` people, each linked to a Telegram chat, and
serves with gunicorn as the Procfile does (the same workers and threads for both):

- the floor: ``bench.floor``, one INSERT and commit per update;
- the product: ``web_survey:create_app()``, whose ``POST /telegram/webhook`` checks the
  secret header, runs the real python-telegram-bot application, stores the turn and
  sends each reply to a local Bot API stand-in (``tests/integration/telegram_standin``)
  that answers after ``--api-delay-ms``, standing for Telegram's own round trip.

Every person first sends "Hello" (a warm-up, not measured). Then ``--connections``
clients post each person's next message of a live survey, people taking turns, never
two of one person at once, round by round, floor and product turn about. It prints
requests/s and the acknowledgement's p50, p99 and slowest for both, the ratio
product/floor of each round, then their medians. Telegram documents no timeout for a
webhook; the aim here is a p99 under a second.

    python -m bench.telegram_bench                       # SQLite and PostgreSQL
    python -m bench.telegram_bench --db sqlite --participants 200 --api-delay-ms 50
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median, quantiles
from typing import Any
from urllib.parse import urlsplit

from content.loader import load_library
from storage.crypto import Vault
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Participant, Site
from storage.uow import UnitOfWork
from tests.integration.telegram_standin import SECRET, TOKEN, BotApiStandIn
from web_survey.telegram_routes import SECRET_HEADER

from .floor import metadata as floor_metadata
from .respondents import Respondent, respondents
from .rounds import arguments, floor_and_product, met, on_each_database, ratios, setting, turn_about
from .sms_bench import DATA_KEY, stored_texts

PATH = "/telegram/webhook"
FIRST_CHAT = 700_000_000
TARGET_RATIO = 0.5
TARGET_P99_MS = 1000.0


class SlowBotApi(BotApiStandIn):
    """The Bot API stand-in, answering each call after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(self.delay)
        return super()._app(environ, start_response)


@dataclass(frozen=True)
class Run:
    """One server's round: each acknowledgement's time, and the non-200 answers."""

    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, share: int) -> float:
        return quantiles(self.latencies_ms, n=100, method="inclusive")[share - 1]


def enrol_chats(url: str, people: Sequence[Respondent]) -> None:
    """Migrate, add the floor's table, and enrol ``people``, each linked to a chat."""
    engine = make_engine(url)
    upgrade(engine)
    floor_metadata.create_all(engine)
    with UnitOfWork(make_session_factory(engine), Vault(DATA_KEY)) as uow:
        site = Site(code="LOAD", name="Load test site",
                    contact_text="Please call the social care team on 0113 496 0000.")
        uow.session.add(site)
        for number, person in enumerate(people):
            participant = Participant(site=site, code=person.code,
                                      respondent_type=person.respondent_type,
                                      preferred_channel="telegram")
            uow.session.add(participant)
            uow.repo.set_contact(participant, "telegram", str(FIRST_CHAT + number))
        uow.commit()
    engine.dispose()


def update(number: int, index: int, text: str) -> bytes:
    """Person ``number``'s message ``index`` as Telegram posts it."""
    chat = FIRST_CHAT + number
    return json.dumps({"update_id": number * 1000 + index, "message": {
        "message_id": index + 1, "date": int(time.time()), "text": text,
        "from": {"id": chat, "is_bot": False, "first_name": "Sam"},
        "chat": {"id": chat, "type": "private", "first_name": "Sam"}}}).encode()


def post_all(base_url: str, bodies: Sequence[Sequence[bytes]]) -> Run:
    """Each client posts its own people's updates in order, one at a time, on one
    kept-alive connection; the clients run at once. The time of each answer counts."""
    parts = urlsplit(base_url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(mine: Sequence[bytes]) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        mine_ms = []
        failed = 0
        for body in mine:
            started = time.perf_counter()
            connection.request("POST", PATH, body=body, headers={
                "Content-Type": "application/json", SECRET_HEADER: SECRET})
            answer = connection.getresponse()
            answer.read()
            mine_ms.append((time.perf_counter() - started) * 1000)
            failed += answer.status != 200
        connection.close()
        with lock:
            latencies.extend(mine_ms)
            errors[0] += failed

    started = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        list(pool.map(client, bodies))
    return Run(time.perf_counter() - started, latencies, errors[0])


def shares(people: Sequence[Respondent], indexes: range,
           connections: int) -> list[list[bytes]]:
    """The updates for messages ``indexes`` of everyone, split between the clients by
    person, so no two of one person's messages are ever in flight at once."""
    bodies: list[list[bytes]] = [[] for _ in range(connections)]
    for index in indexes:
        for number, person in enumerate(people):
            if index < len(person.texts):
                bodies[number % connections].append(update(number, index,
                                                           person.texts[index]))
    return [mine for mine in bodies if mine]


def bench_database(name: str, url: str, people: Sequence[Respondent],
                   options: argparse.Namespace) -> tuple[list[Run], list[Run], int, int]:
    """Floor and product turn about, ``--rounds`` times, on one fresh database: their
    runs, how many updates the product was sent and how many it stored."""
    enrol_chats(url, people)
    longest = max(len(person.texts) for person in people)
    per_round = max(1, (longest - 1) // options.rounds)
    with (tempfile.TemporaryDirectory(prefix="telegram-bench-") as temporary,
          SlowBotApi(options.api_delay_ms / 1000) as api):
        folder = Path(temporary)
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key", "DATA_KEY": DATA_KEY,
               "PUBLIC_BASE_URL": "https://bench.example", "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": api.url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "TELEGRAM_BOT_USERNAME": "bench_bot", "TWILIO_ACCOUNT_SID": "",
               "REDIS_URL": "", "AUDIO_DIR": str(folder / "audio"),
               "RECORDINGS_DIR": str(folder / "recordings")}
        log = options.log or folder / "gunicorn.log"

        def bodies(number: int) -> list[list[bytes]]:
            first = 1 + number * per_round
            return shares(people, range(first, first + per_round), options.connections)

        with floor_and_product(url, env, options, log) as (floor, product):
            hello = shares(people, range(1), options.connections)
            sent = 0
            for server in (floor, product):
                warm = post_all(server.url, hello)
                sent += len(warm.latencies_ms) if server is product else 0
                if warm.errors:
                    raise SystemExit(f"{name}: {warm.errors} warm-up updates were refused "
                                     f"(see {log})")
            floors, products = turn_about(
                name, options.rounds, lambda number: post_all(floor.url, bodies(number)),
                lambda number: post_all(product.url, bodies(number)), _row)
    sent += sum(len(run.latencies_ms) for run in products)
    return floors, products, sent, stored_texts(url)


def _row(run: Run) -> str:
    return (f"{len(run.latencies_ms):>6} updates {run.rate:>7.0f} /s  "
            f"p50 {run.percentile(50):>7.1f} ms  p99 {run.percentile(99):>7.1f} ms  "
            f"slowest {max(run.latencies_ms):>7.1f} ms  errors {run.errors}")


def summary(name: str, floors: Sequence[Run], products: Sequence[Run], sent: int,
            stored: int) -> str:
    """Medians over the rounds, and the aims met or missed."""
    rounds = ratios(floors, products)
    ratio, p99 = median(rounds), median(r.percentile(99) for r in products)
    slowest = max(max(r.latencies_ms) for r in products)
    errors = sum(r.errors for r in products)
    return (f"{name}: ratio {ratio:.2f} ({', '.join(f'{r:.2f}' for r in rounds)}; aim >= "
            f"{TARGET_RATIO}: {met(ratio >= TARGET_RATIO)}); product "
            f"acknowledgement p50 {median(r.percentile(50) for r in products):.1f} ms, p99 "
            f"{p99:.1f} ms (aim < {TARGET_P99_MS:.0f} ms: "
            f"{met(p99 < TARGET_P99_MS)}), slowest {slowest:.1f} ms; "
            f"floor p99 {median(r.percentile(99) for r in floors):.1f} ms; "
            f"product errors {errors}; updates stored {stored} of {sent}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print what it found."""
    parser = arguments("python -m bench.telegram_bench", __doc__)
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16,
                        help="clients posting at once (each its own people)")
    parser.add_argument("--api-delay-ms", type=float, default=0.0,
                        help="the Bot API stand-in's delay before each answer")
    options = parser.parse_args(argv)
    people = respondents(load_library(), options.participants)
    print(f"{setting(options)}, {options.connections} clients, {options.participants} "
          f"participants, {options.rounds} rounds, Bot API delay {options.api_delay_ms:.0f} ms",
          flush=True)
    found = on_each_database(
        options, lambda name, url: summary(name, *bench_database(name, url, people, options)))
    print()
    print("\n".join(found))


if __name__ == "__main__":
    main()
