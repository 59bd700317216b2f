"""Benchmark (b): the long CSV export against the database's own CSV dump of the same rows.

For each database (SQLite file; a private schema on PostgreSQL) and each size (100k and
1M answers by default) it generates a site's answers with a fast bulk insert, then
times, each in a child process of its own:

- the product: ``storage.exports.write_export(..., "long", ...)`` streamed to a file,
  exactly as ``nsw-feedback export --format long --out FILE`` writes it;
- the floor: ``sqlite3 -csv`` or ``psql \\copy (...) TO ...`` of the same rows (same
  joins, filter and order).

It prints rows/s for both, the ratio product/floor (target >= 0.5) and each child's
peak memory (``ru_maxrss`` from ``os.wait4``; target: flat from 100k to 1M rows).

    python -m bench.export_bench                      # both databases, 100k and 1M
    python -m bench.export_bench --db sqlite --rows 100000
    python -m bench.export_bench --pg-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from content.loader import load_library
from storage.db import make_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SITE = "BENCH"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
FREE_TEXT = (
    "More trips out with my friends", "A bigger flat near my sister",
    "I want to see my social worker more, 2 times a month", "Help with money and bills",
    "Going to college", "My own front door key", "A job in the garden centre",
    "Nothing, it is fine now", "=SUM(A1) is what my brother typed",
    "Ring my mum instead please",
)

# The long export's rows, as the database itself would dump them: the same joins,
# filter and order as storage.exports.records.long_rows.
FLOOR_QUERY = """
SELECT s.code, p.code, COALESCE(ab.code, ''), p.respondent_type, p.cohort, r.survey_id,
       r.survey_version_id, v.version, r.wave, r.occurrence, a.who_answered, a.channel,
       r.status, a.question_id, a.status, a.value_code, a.value_label, a.text, a.recording,
       a.answered_at
FROM answers a
JOIN responses r ON a.response_id = r.id
LEFT JOIN participants ab ON r.about_id = ab.id
LEFT JOIN survey_versions v ON r.survey_version_id = v.id
JOIN participants p ON r.participant_id = p.id
JOIN sites s ON p.site_id = s.id
WHERE s.code = 'BENCH' AND NOT s.is_tryout AND NOT p.is_tryout
ORDER BY p.code, COALESCE(ab.code, ''),
         CASE r.wave WHEN 'baseline' THEN 0 WHEN 'exit' THEN 1 ELSE 2 END, r.wave,
         r.occurrence, r.id, a.id
"""


# ---------------------------------------------------------------- generating answers


@dataclass(frozen=True)
class Generated:
    """Rows for each table, as Python values, in insert order."""

    participants: list[tuple[object, ...]]
    responses: list[tuple[object, ...]]
    answers: Iterator[tuple[object, ...]]


PARTICIPANT_COLUMNS = ("id", "site_id", "code", "respondent_type", "cohort", "language",
                       "preferred_channel", "needs", "current_wave", "opted_out",
                       "is_tryout", "created_at")
RESPONSE_COLUMNS = ("id", "participant_id", "wave", "survey_id", "status", "who_answered",
                    "channel", "progress", "consent_given", "started_at", "updated_at",
                    "completed_at")
ANSWER_COLUMNS = ("id", "response_id", "question_id", "status", "value_code", "value_label",
                  "text", "recording", "raw", "channel", "who_answered", "answered_at")


def generate(total: int, seed: int = 8) -> Generated:
    """``total`` answers to the individual survey: baseline and exit for each person."""
    survey = load_library(None).get("individual")
    by_wave = {wave: [q for q in survey.questions if wave in q.waves and not q.practice]
               for wave in ("baseline", "exit")}
    per_person = sum(len(questions) for questions in by_wave.values())
    people = -(-total // per_person)
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    participants, responses = [], []
    for person in range(1, people + 1):
        participants.append((person, 1, f"{SITE}-{person:07d}", "individual",
                             rng.choice(("in-patient", "at-risk", "transition")), "en",
                             rng.choice(("sms", "voice", "telegram", "web")), "easy-read",
                             "exit", False, False, start))
        for number, wave in enumerate(("baseline", "exit")):
            moment = start + timedelta(days=180 * number, minutes=person)
            responses.append((2 * person - 1 + number, person, wave, "individual",
                              "completed", "self", "sms", "{}", True, moment, moment,
                              moment))

    def answers() -> Iterator[tuple[object, ...]]:
        made = 0
        for response_id, _, wave, *_rest in responses:
            moment = start + timedelta(minutes=response_id)
            for question in by_wave[wave]:
                if made == total:
                    return
                made += 1
                if question.options:
                    option = rng.choice(question.options)
                    code, label, said = option.code, option.label["en"], option.key
                    free = ""
                else:
                    code, label, free = None, "", rng.choice(FREE_TEXT)
                    said = free
                yield (made, response_id, question.id, "answered", code, label, free, "",
                       said, "sms", "self", moment)

    return Generated(participants, responses, answers())


def fill_sqlite(path: Path, total: int) -> None:
    """A migrated SQLite file holding ``total`` answers, written in one transaction."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    data = generate(total)

    def stored(rows: Iterator[tuple[object, ...]] | list[tuple[object, ...]]
               ) -> Iterator[tuple[object, ...]]:
        # SQLAlchemy keeps SQLite datetimes as naive UTC text in this format.
        for row in rows:
            yield tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                        for v in row)

    with closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("INSERT INTO sites (id, code, name, contact_text, is_tryout, created_at) "
                   "VALUES (1, ?, 'Benchmark site', '', 0, '2025-03-01 09:00:00.000000')",
                   (SITE,))
        for table, columns, rows in (
                ("participants", PARTICIPANT_COLUMNS, data.participants),
                ("responses", RESPONSE_COLUMNS, data.responses),
                ("answers", ANSWER_COLUMNS, data.answers)):
            marks = ", ".join("?" * len(columns))
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           stored(rows))


def fill_postgres(url: str, total: int) -> None:
    """The migrated schema behind ``url`` holding ``total`` answers, loaded with COPY."""
    engine = make_engine(url)
    upgrade(engine)
    data = generate(total)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sites (id, code, name, contact_text, is_tryout, created_at) "
            "VALUES (1, :code, 'Benchmark site', '', false, now())"), {"code": SITE})
        cursor = connection.connection.driver_connection.cursor()
        for table, columns, rows in (
                ("participants", PARTICIPANT_COLUMNS, data.participants),
                ("responses", RESPONSE_COLUMNS, data.responses),
                ("answers", ANSWER_COLUMNS, data.answers)):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        connection.execute(text("ANALYZE"))
    engine.dispose()


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    """One child process: how long it took, its peak memory, and the rows it wrote."""

    seconds: float
    peak_mib: float
    rows: int


def measure(command: list[str], env: dict[str, str], out: Path) -> Run:
    """Run ``command`` (which writes ``out``); time it and read its own peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE)
    assert child.stdout is not None
    reported = child.stdout.read().decode()
    # wait4 gives this child's own rusage; Linux reports ru_maxrss in KiB.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed with exit code {child.returncode}")
    # The product child reports the time of the export itself, leaving out the
    # interpreter's start and imports, which do not grow with the rows.
    seconds = float(reported.split()[1]) if reported.startswith("seconds") else wall
    with out.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return Run(seconds, usage.ru_maxrss / 1024, lines - 1)


def fastest(runs: list[Run]) -> Run:
    """The fastest of repeated runs (what other work on the machine slowed least), with
    the highest peak memory any of them reached."""
    best = min(runs, key=lambda run: run.seconds)
    return Run(best.seconds, max(run.peak_mib for run in runs), best.rows)


def product(url: str, out: Path, env: dict[str, str]) -> Run:
    return measure([sys.executable, "-m", "bench.export_bench", "export", url, str(out)],
                   env, out)


def floor_sqlite(path: Path, out: Path, env: dict[str, str]) -> Run:
    sqlite = shutil.which("sqlite3")
    if sqlite is None:
        raise SystemExit("sqlite3 is missing: apt-get install sqlite3")
    script = out.with_suffix(".sh")
    script.write_text(f'exec {sqlite} -csv -header "{path}" "{FLOOR_QUERY.strip()}" > "{out}"')
    return measure(["bash", str(script)], env, out)


def floor_postgres(url: str, schema: str, out: Path, env: dict[str, str]) -> Run:
    psql = shutil.which("psql")
    if psql is None:
        raise SystemExit("psql is missing: apt-get install postgresql-client")
    query = " ".join(FLOOR_QUERY.split())
    copy = f"\\copy ({query}) TO '{out}' WITH (FORMAT csv, HEADER)"
    return measure([psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy],
                   {**env, "PGOPTIONS": f"-c search_path={schema}"}, out)


def export_child(url: str, out: Path) -> None:
    """The product, as ``nsw-feedback export --format long --out`` runs it."""
    from storage.db import make_session_factory
    from storage.exports import redaction, write_export

    surveys = load_library(None)
    engine = make_engine(url)
    # Imports are left out of the timing: scrubadub's (about 3 s, once per process) is
    # made on the first answer that needs it, so it is made here, before the clock.
    redaction.load()
    started = time.perf_counter()
    with make_session_factory(engine)() as session, out.open("wb") as handle:
        rows = write_export(session, surveys, "long", handle, SITE)
    print(f"seconds {time.perf_counter() - started:.3f} rows {rows}")
    engine.dispose()


# ---------------------------------------------------------------- the runs


@dataclass(frozen=True)
class Result:
    database: str
    rows: int
    product: Run
    floor: Run

    @property
    def ratio(self) -> float:
        return self.floor.seconds / self.product.seconds


def in_child(fill: Callable[..., None], *args: object) -> None:
    """Run ``fill`` in a fresh process: a child started later reports the memory of the
    process it was forked from as its own peak (``ru_maxrss``), so the generated rows
    must never sit in this one."""
    child = multiprocessing.get_context("spawn").Process(target=fill, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating the answers failed ({child.exitcode})")


def run_sqlite(sizes: list[int], folder: Path, env: dict[str, str],
               repeat: int) -> list[Result]:
    results = []
    for size in sizes:
        path = folder / f"bench-{size}.db"
        began = time.perf_counter()
        in_child(fill_sqlite, path, size)
        print(f"sqlite {size:>9,} answers generated in {time.perf_counter() - began:.1f} s",
              flush=True)
        mine, theirs = [], []
        for _ in range(repeat):  # alternating, so both sides meet the same conditions
            mine.append(product(f"sqlite:///{path}", folder / "product.csv", env))
            theirs.append(floor_sqlite(path, folder / "floor.csv", env))
        results.append(checked(Result("SQLite", size, fastest(mine), fastest(theirs))))
        path.unlink()
    return results


def run_postgres(sizes: list[int], base_url: str, env: dict[str, str], folder: Path,
                 repeat: int) -> list[Result]:
    admin = make_engine(base_url)
    results = []
    for size in sizes:
        schema = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        joiner = "&" if "?" in base_url else "?"
        url = f"{base_url}{joiner}options=-csearch_path%3D{schema}"
        try:
            began = time.perf_counter()
            in_child(fill_postgres, url, size)
            print(f"postgres {size:>9,} answers generated in "
                  f"{time.perf_counter() - began:.1f} s", flush=True)
            mine, theirs = [], []
            for _ in range(repeat):
                mine.append(product(url, folder / "product.csv", env))
                theirs.append(floor_postgres(base_url, schema, folder / "floor.csv", env))
            results.append(checked(Result("PostgreSQL", size, fastest(mine),
                                          fastest(theirs))))
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    return results


def checked(result: Result) -> Result:
    """Both sides must have written every generated row, or the timing means nothing."""
    if not result.product.rows == result.floor.rows == result.rows:
        raise SystemExit(f"{result.database}: product wrote {result.product.rows} rows, "
                         f"floor {result.floor.rows}, generated {result.rows}")
    print(f"  product {result.product.seconds:6.2f} s   floor {result.floor.seconds:6.2f} s"
          f"   ratio {result.ratio:.2f}", flush=True)
    return result


def summary(results: list[Result]) -> str:
    """The table the README quotes."""
    lines = ["| database | answers | product rows/s | floor rows/s | ratio | product peak MiB "
             "| floor peak MiB |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r.database} | {r.rows:,} | {r.rows / r.product.seconds:,.0f} | "
                     f"{r.rows / r.floor.seconds:,.0f} | {r.ratio:.2f} | "
                     f"{r.product.peak_mib:.0f} | {r.floor.peak_mib:.0f} |")
    return "\n".join(lines)


def verdict(results: list[Result]) -> list[str]:
    """Each target, met or missed."""
    notes = []
    for r in results:
        notes.append(f"{r.database} {r.rows:,}: ratio {r.ratio:.2f} "
                     f"{'meets' if r.ratio >= 0.5 else 'MISSES'} the target of 0.5")
    for database in sorted({r.database for r in results}):
        mine = sorted((r for r in results if r.database == database), key=lambda r: r.rows)
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            growth = large.product.peak_mib / small.product.peak_mib
            notes.append(f"{database}: peak memory {small.product.peak_mib:.0f} MiB at "
                         f"{small.rows:,} rows, {large.product.peak_mib:.0f} MiB at "
                         f"{large.rows:,} ({'flat' if growth < 1.2 else 'GROWS'}: "
                         f"x{growth:.2f})")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), action="append")
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--repeat", type=int, default=3,
                        help="Runs of each side; the fastest counts (default 3).")
    args = parser.parse_args()
    databases = args.db or ["sqlite", "postgres"]
    sizes = sorted(args.rows or [100_000, 1_000_000])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; sizes {sizes}, fastest of {args.repeat}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="nsw-export-bench-") as folder:
        if "sqlite" in databases:
            results += run_sqlite(sizes, Path(folder), env, args.repeat)
        if "postgres" in databases:
            results += run_postgres(sizes, args.pg_url, env, Path(folder), args.repeat)
    print()
    print(summary(results))
    print()
    print("\n".join(verdict(results)))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "export":
        export_child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
