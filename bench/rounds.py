"""What the webhook benchmarks share: a fresh database of each kind, the floor and the
product served on it alike, and the two turn about over rounds, each run printed as it
ends (``bench.sms_bench``, ``bench.telegram_bench``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import create_engine, text

from storage.db import normalise_url
from tests.servers import Gunicorn, gunicorn

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PRODUCT_APP = "web_survey:create_app()"
FLOOR_APP = "bench.floor:create_app()"


class Timed(Protocol):
    """One server's run: how many requests it answered a second."""

    @property
    def rate(self) -> float: ...


RunT = TypeVar("RunT", bound=Timed)
T = TypeVar("T")


# ---------------------------------------------------------------- databases


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A SQLite file in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sms-bench-"))
    try:
        yield f"sqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A private schema on the PostgreSQL server at ``url``, dropped afterwards."""
    schema = f"sms_bench_{secrets.token_hex(4)}"
    admin = create_engine(normalise_url(url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def on_each_database(options: argparse.Namespace,
                     bench: Callable[[str, str], T]) -> list[T]:
    """``bench(name, url)`` on each database of ``--db`` (default: both), each fresh and
    removed afterwards."""
    found = []
    for name in options.db or ("sqlite", "postgres"):
        database = sqlite_database() if name == "sqlite" else postgres_database(options.pg_url)
        with database as url:
            found.append(bench(name, url))
    return found


# ---------------------------------------------------------------- the two sides


@contextmanager
def floor_and_product(url: str, env: Mapping[str, str], options: argparse.Namespace,
                      log: Path) -> Iterator[tuple[Gunicorn, Gunicorn]]:
    """The floor and the product (configured by ``env``) on the database at ``url``,
    each with ``--workers`` and ``--threads``, both up until the last round is done."""
    workers = options.workers, options.threads
    with (gunicorn(FLOOR_APP, {"DATABASE_URL": url}, *workers, log) as floor,
          gunicorn(PRODUCT_APP, env, *workers, log) as product):
        yield floor, product


def turn_about(name: str, rounds: int, floor: Callable[[int], RunT],
               product: Callable[[int], RunT], row: Callable[[RunT], str],
               check: Callable[[RunT], None] = lambda run: None
               ) -> tuple[list[RunT], list[RunT]]:
    """``floor(number)`` then ``product(number)`` for each of ``rounds`` rounds, each run
    printed by ``row`` as it ends and each product's run then ``check``-ed.

    Both servers stay up and take turns, so a passing change in the machine's load
    touches both runs of a round alike; each round's ratio compares neighbours.
    """
    floors: list[RunT] = []
    products: list[RunT] = []
    for number in range(rounds):
        floors.append(floor(number))
        print(f"{name:<9} {number + 1} floor   {row(floors[-1])}", flush=True)
        products.append(product(number))
        print(f"{name:<9} {number + 1} product {row(products[-1])}", flush=True)
        check(products[-1])
    return floors, products


# ---------------------------------------------------------------- report


def ratios(floors: Sequence[Timed], products: Sequence[Timed]) -> list[float]:
    """Product/floor requests per second, each round on its own."""
    return [p.rate / f.rate for f, p in zip(floors, products, strict=True)]


def met(ok: bool) -> str:
    """A target's verdict, as the reports print it."""
    return "met" if ok else "MISSED"


def arguments(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, described by its module's ``doc``, with the options
    every webhook benchmark has: the databases, the servers, the rounds and the log."""
    doc = doc or ""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(doc.split("\n\n")[1:]))
    parser.add_argument("--db", choices=("sqlite", "postgres"), action="append",
                        help="database to run on (repeatable; default: both)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
                        help="PostgreSQL server; the benchmark works in a schema of its own")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers for each, as WEB_CONCURRENCY in the Procfile")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads in each worker, as WEB_THREADS in the Procfile")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each, turn about; the report shows their medians")
    parser.add_argument("--log", type=Path, help="append gunicorn's and the app's log here")
    return parser


def setting(options: argparse.Namespace) -> str:
    """The start of a benchmark's first line: the machine, and how the servers run."""
    return (f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, gunicorn "
            f"{options.workers} workers x {options.threads} threads")
