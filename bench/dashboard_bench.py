"""Benchmark: the staff dashboard page against the raw GROUP BY queries it needs.

For each database (a SQLite file; a private schema on PostgreSQL) it builds one site
with a plan of four timepoints (baseline, 3-month, 6-month, exit) and people of every
respondent type answering their shipped survey at each, ``--answers`` answers in all
(100,000 by default), with an invitation for each person and timepoint, some declines,
opt-outs, worrying answers and recordings, spread over four months. Then, turn about,
``--repeat`` times each:

- **product**: ``GET /staff/sites/BENCH/`` through Flask's test client, signed in as the
  site's lead: access checks, the site's plan, every figure, chart and table, the HTML.
- **floor**: the GROUP BY queries that page cannot do without, in plain SQL on one
  connection of the same engine, every row fetched: answers per survey, timepoint,
  question and code; people per respondent type, channel and status at the chosen
  timepoint (invitations and responses); the week's events per respondent type and
  timepoint; open worrying answers; recordings.

It prints the median time of each and the ratio floor/product (1.0: the page costs no
more than its queries; target >= 0.5).

    python -m bench.dashboard_bench                        # SQLite and PostgreSQL
    python -m bench.dashboard_bench --db sqlite --answers 100000 --repeat 7
    python -m bench.dashboard_bench --pg-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine, insert, text

from bot.engine import RESPONDENT_TYPES
from content.loader import load_library
from content.plan import Plan, Timepoint, plan_data
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import (
    Answer,
    AuditEntry,
    Invitation,
    Participant,
    Response,
    SafeguardingFlag,
    Site,
    SitePlan,
    StaffUser,
)

from .rounds import DEFAULT_PG, on_each_database

SITE = "BENCH"
TIMEPOINTS = ("baseline", "3-month", "6-month", "exit")
LEAD = "lead@bench.example"
PASSWORD = "correct horse battery staple"
TARGET_RATIO = 0.5
# Everything happened over the last four months, so the week's figures are not empty.
SPREAD_DAYS = 120


# ---------------------------------------------------------------- the site's data


def fill(engine: Engine, total: int, seed: int = 13) -> int:
    """Migrate and add the site, its plan, its lead and ``total`` answers; return people."""
    upgrade(engine)
    rng = random.Random(seed)
    library = load_library(None)
    surveys = {kind: library.for_respondent(kind) for kind in RESPONDENT_TYPES}
    data = {kind: [q for q in survey.questions if q.is_data]
            for kind, survey in surveys.items()}
    now = datetime.now(UTC)
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with engine.begin() as connection:
        site_id = connection.execute(insert(Site.__table__).values(
            code=SITE, name="Benchmark", safeguarding_lead="Jo Smith",
            created_at=now)).inserted_primary_key[0]
        plan = Plan(tuple(Timepoint(name) for name in TIMEPOINTS))
        connection.execute(insert(SitePlan.__table__).values(
            site_id=site_id, version=1, plan=plan_data(plan), source="", published_at=now))
        connection.execute(insert(StaffUser.__table__).values(
            email=LEAD, password_hash=hasher.hash(PASSWORD), site_id=site_id,
            created_at=now))
    people: list[dict[str, Any]] = []
    invitations: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    answers: list[tuple[int, dict[str, Any]]] = []  # (response number, row)
    flags: list[dict[str, Any]] = []
    opt_outs: list[dict[str, Any]] = []
    made = 0
    while made < total:
        number = len(people) + 1
        kind = RESPONDENT_TYPES[number % len(RESPONDENT_TYPES)]
        channel = rng.choice(("sms", "voice", "telegram", "web"))
        opted_out = rng.random() < 0.03
        code = f"{SITE}-{number:06d}"
        people.append({"id": number, "site_id": site_id, "code": code,
                       "respondent_type": kind, "preferred_channel": channel,
                       "current_wave": "exit", "opted_out": opted_out, "created_at": now})
        if opted_out:
            opt_outs.append({"at": now - timedelta(days=rng.uniform(0, SPREAD_DAYS)),
                             "actor": "sms", "action": "opt_out", "site_code": SITE,
                             "detail": {"participant": code}})
        for step, wave in enumerate(TIMEPOINTS):
            moment = now - timedelta(days=SPREAD_DAYS * (1 - step / 4) - rng.uniform(0, 30))
            invitations.append({"participant_id": number, "wave": wave, "channel": channel,
                                "token": f"t{number}-{step}", "status": "delivered",
                                "created_at": moment, "sent_at": moment})
            declined = rng.random() < 0.04
            response = len(responses) + 1
            responses.append({
                "id": response, "participant_id": number, "wave": wave,
                "survey_id": surveys[kind].id, "channel": channel,
                "status": "declined" if declined else "completed", "progress": {},
                "started_at": moment, "updated_at": moment,
                "completed_at": None if declined else moment + timedelta(minutes=9)})
            if declined:
                continue
            for question in data[kind]:
                if made == total:
                    break
                made += 1
                # Every row names every column: a bulk insert needs the same keys.
                row = {"response_id": response, "question_id": question.id,
                       "status": "answered", "channel": channel, "who_answered": "self",
                       "answered_at": moment, "value_code": None, "value_label": "",
                       "text": "", "recording": ""}
                if question.options:
                    option = rng.choice(question.options)
                    row.update(value_code=option.code, value_label=option.label["en"])
                else:
                    row.update(text="Things are fine at home.",
                               recording=("recordings/r.wav" if rng.random() < 0.1 else ""))
                    if rng.random() < 0.01:
                        flags.append({"site_id": site_id, "participant_id": number,
                                      "wave": wave, "question_id": question.id,
                                      "text": "scared", "matched": "scared",
                                      "flagged_at": moment})
                answers.append((response, row))
    with engine.begin() as connection:
        for table, rows in ((Participant, people), (Invitation, invitations),
                            (Response, responses), (Answer, [r for _, r in answers]),
                            (SafeguardingFlag, flags), (AuditEntry, opt_outs)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start:start + 5000])
        if engine.dialect.name == "postgresql":
            # Rows were given ids by hand: move each sequence past them.
            for table in ("participants", "responses"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return len(people)


# ---------------------------------------------------------------- the two sides

FLOOR_QUERIES = (
    # The charts: answers per survey, timepoint, question and code.
    """SELECT r.survey_id, r.wave, a.question_id, a.value_code, count(*)
       FROM answers a JOIN responses r ON a.response_id = r.id
       JOIN participants p ON r.participant_id = p.id
       WHERE p.site_id = :site AND p.is_tryout = false AND a.status = 'answered'
       GROUP BY r.survey_id, r.wave, a.question_id, a.value_code""",
    # The rates at the chosen timepoint: invitations and responses by type and channel.
    """SELECT p.respondent_type, i.channel, count(DISTINCT i.participant_id)
       FROM invitations i JOIN participants p ON i.participant_id = p.id
       WHERE p.site_id = :site AND p.is_tryout = false AND i.wave = 'baseline'
       GROUP BY p.respondent_type, i.channel""",
    """SELECT p.respondent_type, r.channel, r.status, p.opted_out, count(*)
       FROM responses r JOIN participants p ON r.participant_id = p.id
       WHERE p.site_id = :site AND p.is_tryout = false AND r.wave = 'baseline'
       GROUP BY p.respondent_type, r.channel, r.status, p.opted_out""",
    # The week's events by type and timepoint, and so far.
    """SELECT p.respondent_type, i.wave,
              sum(CASE WHEN i.sent_at >= :start AND i.sent_at < :end THEN 1 ELSE 0 END),
              sum(CASE WHEN i.sent_at < :end THEN 1 ELSE 0 END)
       FROM invitations i JOIN participants p ON i.participant_id = p.id
       WHERE p.site_id = :site AND p.is_tryout = false GROUP BY p.respondent_type, i.wave""",
    """SELECT p.respondent_type, r.wave,
              sum(CASE WHEN r.started_at >= :start AND r.started_at < :end THEN 1 ELSE 0 END),
              sum(CASE WHEN r.completed_at >= :start AND r.completed_at < :end
                  THEN 1 ELSE 0 END),
              sum(CASE WHEN r.status = 'declined' AND r.updated_at >= :start
                  AND r.updated_at < :end THEN 1 ELSE 0 END)
       FROM responses r JOIN participants p ON r.participant_id = p.id
       WHERE p.site_id = :site AND p.is_tryout = false GROUP BY p.respondent_type, r.wave""",
    # Worrying answers waiting, and recordings.
    """SELECT count(*) FROM safeguarding_flags WHERE site_id = :site AND handled_at IS NULL""",
    """SELECT count(*) FROM answers a JOIN responses r ON a.response_id = r.id
       JOIN participants p ON r.participant_id = p.id
       WHERE p.site_id = :site AND a.recording != ''""",
)


def floor(engine: Engine) -> Callable[[], None]:
    """Run every floor query once, fetching every row."""
    now = datetime.now(UTC)
    params = {"start": now - timedelta(days=7), "end": now}

    def run() -> None:
        with engine.connect() as connection:
            site = connection.scalar(text("SELECT id FROM sites WHERE code = :code"),
                                     {"code": SITE})
            for query in FLOOR_QUERIES:
                connection.execute(text(query), {**params, "site": site}).all()

    return run


def product(url: str, folder: Path) -> Callable[[], None]:
    """GET the dashboard, signed in, through the app's test client."""
    from web_survey import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "DATA_KEY": "bench",
                      "PUBLIC_BASE_URL": "https://bench.example",
                      "AUDIO_DIR": str(folder / "audio"), "TESTING": False,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    signed = client.post("/staff/sign-in", data={"email": LEAD, "password": PASSWORD})
    assert signed.status_code == 302, "the benchmark's lead could not sign in"

    def run() -> None:
        page = client.get(f"/staff/sites/{SITE}/")
        assert page.status_code == 200, page.status_code
        assert re.search(rb'id="answers-individual-', page.data), "no charts on the page"

    return run


def timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@dataclass(frozen=True)
class Result:
    database: str
    people: int
    answers: int
    product_s: float
    floor_s: float

    @property
    def ratio(self) -> float:
        return self.floor_s / self.product_s


def bench(name: str, url: str, total: int, repeat: int) -> Result:
    engine = make_engine(url)
    people = fill(engine, total)
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as folder:
        page, queries = product(url, Path(folder)), floor(engine)
        page(), queries()  # warm: imports, templates, the plan cache, the database's pages
        pages, floors = [], []
        for _ in range(repeat):
            floors.append(timed(queries))
            pages.append(timed(page))
    engine.dispose()
    result = Result(name, people, total, median(pages), median(floors))
    print(f"{name}: {people:,} people, {total:,} answers over {len(TIMEPOINTS)} timepoints; "
          f"page {result.product_s * 1000:.0f} ms, queries {result.floor_s * 1000:.0f} ms, "
          f"ratio {result.ratio:.2f}", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_bench",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), action="append",
                        help="sqlite, postgres or both (default)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side")
    options = parser.parse_args(argv)
    results = on_each_database(
        options, lambda name, url: bench(name, url, options.answers, options.repeat))
    print("\n| database | page (median) | GROUP BY queries (median) | ratio | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for result in results:
        verdict = "met" if result.ratio >= TARGET_RATIO else "NOT met"
        print(f"| {result.database} | {result.product_s * 1000:.0f} ms | "
              f"{result.floor_s * 1000:.0f} ms | {result.ratio:.2f} | >= {TARGET_RATIO} "
              f"({verdict}) |")


if __name__ == "__main__":
    main()
