"""Benchmark (a): the inbound SMS webhook, full path, against a bare INSERT-and-commit route.

For each database (a SQLite file; a private schema on PostgreSQL) it enrols
``--participants`` people, then serves with gunicorn as the Procfile does (the same
workers and threads for both, the same database) and loads in turn, ``--rounds`` times:

- the floor: ``bench.floor``, one INSERT and commit per request;
- the product: ``web_survey:create_app()``, whose ``POST /twilio/sms`` checks the Twilio
  signature with the real RequestValidator, finds the sender by the keyed hash of their
  number, stores the answer and progress, and answers with TwiML.

Every person first texts "Hello" (a warm-up, not measured). Then wrk posts their replies
in a live survey, pre-signed, each text once, people taking turns, so each request is
the next answer of someone part-way through (bench/sms_load.lua). It prints requests/s,
p50 and p99 for both and the ratio product/floor of each round, then their medians
(targets: ratio >= 0.5, p99 < 100 ms at 64 connections).

    python -m bench.sms_bench                       # SQLite and PostgreSQL
    python -m bench.sms_bench --db sqlite --duration 10 --connections 64
    python -m bench.sms_bench --pg-url postgresql://postgres@127.0.0.1:5432/test

Needs wrk (``apt-get install wrk``) and, for PostgreSQL, a server at ``--pg-url``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from urllib.parse import urlencode

from sqlalchemy import func, select

from content.loader import load_library
from storage.crypto import Vault
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import InboundMessage
from storage.uow import UnitOfWork
from tests.servers import ROOT

from .floor import metadata as floor_metadata
from .respondents import SMS_PATH, Respondent, deliver, enrol, respondents, signed_text
from .rounds import arguments, floor_and_product, met, on_each_database, ratios, setting, turn_about

PUBLIC_BASE_URL = "https://bench.example"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
DATA_KEY = "bench-data-key"
LUA = ROOT / "bench" / "sms_load.lua"
# The floor forgets nothing it is sent twice, so its texts are sent over again: it is
# faster than the product and must not run out of requests before the time is up.
FLOOR_REPEATS = 4
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class Run:
    """What wrk measured for one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    ran_out: bool

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Result:
    """The floor's and the product's runs on one database, round by round."""

    database: str
    floors: list[Run]
    products: list[Run]
    stored: int  # texts the product recorded, warm-up included

    @property
    def ratios(self) -> list[float]:
        """Product/floor requests per second, each round on its own."""
        return ratios(self.floors, self.products)


# ---------------------------------------------------------------- databases


def prepare(url: str, people: Sequence[Respondent]) -> None:
    """Migrate, add the floor's table and enrol ``people`` with their phone numbers."""
    engine = make_engine(url)
    upgrade(engine)
    floor_metadata.create_all(engine)
    enrol(lambda: UnitOfWork(make_session_factory(engine), Vault(DATA_KEY)), people)
    engine.dispose()


def stored_texts(url: str) -> int:
    """How many inbound texts the product recorded."""
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(InboundMessage))
    engine.dispose()
    return int(count or 0)


# ---------------------------------------------------------------- load


def request_lines(people: Sequence[Respondent], rounds: range) -> list[str]:
    """Signed texts as wrk lines (path, signature, form), each round for everyone in turn.

    Round by round, so a person's next text comes only after everyone else's: like a
    survey going on at the same time for all of them, never two texts of one person
    at once.
    """
    url = PUBLIC_BASE_URL + SMS_PATH
    lines = []
    for index in rounds:
        for person in people:
            if index < len(person.texts):
                signed = signed_text(person, index, url, AUTH_TOKEN)
                lines.append(f"{SMS_PATH}\t{signed.signature}\t{urlencode(signed.form)}")
    return lines


def warm_up(base_url: str, people: Sequence[Respondent], connections: int) -> None:
    """Everyone texts "Hello": every worker has started, and every survey is live."""
    url = PUBLIC_BASE_URL + SMS_PATH
    texts = [signed_text(person, 0, url, AUTH_TOKEN) for person in people]
    with ThreadPoolExecutor(connections) as pool:
        statuses = list(pool.map(lambda signed: deliver(base_url, signed)[0], texts))
    refused = [status for status in statuses if status != 200]
    if refused:
        raise SystemExit(f"warm-up: {len(refused)} texts got {sorted(set(refused))}")


def wrk(base_url: str, lines_file: Path, connections: int, threads: int,
        seconds: int) -> Run:
    """Run wrk with the Lua script over ``lines_file`` and read its JSON line."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(LUA), base_url, "--", str(lines_file), str(threads)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = json.loads(next(line for line in finished.stdout.splitlines()
                              if line.startswith("{")))
    errors = sum(figures[name] for name in ("connect_errors", "read_errors", "write_errors",
                                            "status_errors", "timeouts"))
    return Run(figures["requests"], figures["duration_us"] / 1e6, figures["p50_us"] / 1e3,
               figures["p99_us"] / 1e3, errors, figures["ran_out"])


def product_env(url: str, folder: Path) -> dict[str, str]:
    """The product's whole configuration, as a deployment would set it."""
    return {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key", "DATA_KEY": DATA_KEY,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": "+447700900999",
            "TWILIO_API_BASE_URL": "", "TELEGRAM_BOT_TOKEN": "", "REDIS_URL": "",
            "AUDIO_DIR": str(folder / "audio"), "RECORDINGS_DIR": str(folder / "recordings")}


def bench_database(name: str, url: str, people: Sequence[Respondent],
                   options: argparse.Namespace) -> Result:
    """The floor and the product, turn about, on one freshly prepared database."""
    prepare(url, people)
    longest = max(len(person.texts) for person in people)
    lines = request_lines(people, range(1, longest))
    share = len(lines) // options.rounds
    with tempfile.TemporaryDirectory(prefix="sms-bench-") as temporary:
        folder = Path(temporary)
        floor_lines = folder / "floor.txt"
        floor_lines.write_text("\n".join(lines * FLOOR_REPEATS) + "\n")
        product_lines = []
        for number in range(options.rounds):
            product_lines.append(folder / f"product-{number}.txt")
            product_lines[-1].write_text(
                "\n".join(lines[number * share:(number + 1) * share]) + "\n")
        log = options.log or folder / "gunicorn.log"

        def enough(run: Run) -> None:
            if run.ran_out:
                raise SystemExit(f"{name}: the product sent all {share} replies of a "
                                 "round before the time was up; raise --participants "
                                 "or lower --duration")

        with floor_and_product(url, product_env(url, folder), options, log) as (floor,
                                                                                product):
            warm_up(floor.url, people, options.connections)
            warm_up(product.url, people, options.connections)
            floors, products = turn_about(
                name, options.rounds, lambda _: _load(floor.url, floor_lines, options),
                lambda number: _load(product.url, product_lines[number], options), _row,
                enough)
    return Result(name, floors, products, stored_texts(url))


def _load(base_url: str, lines: Path, options: argparse.Namespace) -> Run:
    return wrk(base_url, lines, options.connections, options.wrk_threads, options.duration)


# ---------------------------------------------------------------- report


def _row(run: Run) -> str:
    return (f"{run.requests:>7} requests {run.rate:>8.0f} req/s  p50 {run.p50_ms:>6.1f} ms  "
            f"p99 {run.p99_ms:>6.1f} ms  errors {run.errors}")


def summary(results: Sequence[Result], connections: int) -> str:
    """The medians over the rounds as a table, and the targets met or missed."""
    lines = ["| database | floor req/s | product req/s | ratio (rounds) | floor p50 / p99 ms "
             "| product p50 / p99 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for result in results:
        floors, products = result.floors, result.products
        rounds = ", ".join(f"{ratio:.2f}" for ratio in result.ratios)
        lines.append(
            f"| {result.database} | {median(r.rate for r in floors):.0f} | "
            f"{median(r.rate for r in products):.0f} | {median(result.ratios):.2f} "
            f"({rounds}) | {median(r.p50_ms for r in floors):.1f} / "
            f"{median(r.p99_ms for r in floors):.1f} | "
            f"{median(r.p50_ms for r in products):.1f} / "
            f"{median(r.p99_ms for r in products):.1f} |")
    lines.append("")
    for result in results:
        ratio = median(result.ratios)
        p99 = median(r.p99_ms for r in result.products)
        errors = sum(r.errors for r in result.products)
        lines.append(
            f"{result.database}: ratio {ratio:.2f} (target >= {TARGET_RATIO}: "
            f"{met(ratio >= TARGET_RATIO)}); product p99 {p99:.1f} ms at "
            f"{connections} connections (target < {TARGET_P99_MS:.0f} ms: "
            f"{met(p99 < TARGET_P99_MS)}); product errors {errors}; "
            f"texts stored {result.stored}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its table."""
    parser = arguments("python -m bench.sms_bench", __doc__)
    parser.add_argument("--participants", type=int, default=5000,
                        help="people enrolled, each part-way through a survey")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each run")
    options = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    people = respondents(load_library(), options.participants)
    print(f"{setting(options)}, {options.connections} connections, {options.participants} "
          f"participants, {options.rounds} rounds of {options.duration} s", flush=True)
    results = on_each_database(
        options, lambda name, url: bench_database(name, url, people, options))
    print()
    print(summary(results, options.connections))


if __name__ == "__main__":
    main()
