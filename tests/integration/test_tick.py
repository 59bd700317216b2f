"""Schedules that run themselves (issue 15 item 3): a round sends held invitations when
quiet hours end (and not before), reminders by the site's rule and fallback steps; two
rounds at once, a round that crashes, and a worker killed with SIGKILL never send a
message twice; a provider number sends its share a round and no more.

Sends go through the real ``twilio`` client to the loopback stand-in; the clock is
outreach's, moved by the test; the worker test runs ``nsw-feedback worker`` on the real
Redis, as the Procfile does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from storage.models import Invitation, Participant, Response, utcnow
from tests.servers import ROOT, project_env, wait_until
from web_survey.rounds import run_round

from .twilio_fakes import PHONE, twilio_settings

# 22:00 in London on a winter evening (GMT): inside quiet hours of 20:00-09:00.
EVENING = datetime(2026, 1, 12, 22, 0, tzinfo=UTC)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(twilio_settings(stand_in.url), QUIET_HOURS="20:00-09:00",
                      SITE_TIMEZONE="Europe/London")
    return app_config


@pytest.fixture
def clock(nsw):
    """Outreach's clock, moved by the test (``clock.now``)."""

    class Clock:
        now = EVENING

        def __call__(self) -> datetime:
            return self.now

    fake = Clock()
    nsw.outreach.clock = fake
    return fake


def people(make_participant, count: int, channel: str = "voice") -> list[str]:
    """``count`` people at CAL, each with a phone number of their own."""
    numbers = [f"+4477009001{n:02d}" for n in range(count)]
    for n, number in enumerate(numbers):
        make_participant(f"CAL-{n:04d}", phone=number, preferred_channel=channel)
    return numbers


def made(nsw, channel: str = "voice", **fields) -> list[int]:
    """An invitation for each person at CAL, made and not sent (as `invite` leaves them
    when its worker has not run yet)."""
    with nsw.uow() as uow:
        invitations = []
        for person in uow.session.scalars(select(Participant).order_by(Participant.code)):
            invitation = uow.repo.add_invitation(person, "baseline", channel)
            for name, value in fields.items():
                setattr(invitation, name, value)
            invitations.append(invitation)
        uow.commit()
        return [i.id for i in invitations]


def statuses(nsw) -> list[str]:
    with nsw.uow() as uow:
        return list(uow.session.scalars(select(Invitation.status).order_by(Invitation.id)))


def called(stand_in) -> Counter[str]:
    return Counter(call["To"] for call in stand_in.sent("Calls"))


def test_held_invitations_go_out_when_quiet_hours_end_and_not_before(
        nsw, cli, make_participant, stand_in, clock):
    from web_survey.sending import send_wave

    make_participant("CAL-0001", preferred_channel="sms")
    with nsw.uow() as uow:
        send_wave(nsw, uow, uow.repo.site("CAL"), "baseline", None, "lead")
    assert statuses(nsw) == ["held"] and stand_in.sent("Messages") == []

    for moment in (EVENING + timedelta(hours=1), EVENING + timedelta(hours=10, minutes=59)):
        clock.now = moment  # 23:00, then 08:59 the next morning
        assert run_round(nsw).sent == []
    assert statuses(nsw) == ["held"] and stand_in.sent("Messages") == []

    clock.now = EVENING + timedelta(hours=11)  # 09:00: the window opens
    assert run_round(nsw).sent == [("CAL-0001", "sms", "queued")]
    assert statuses(nsw) == ["queued"]
    assert {m["To"] for m in stand_in.sent("Messages")} == {PHONE}
    with nsw.uow() as uow:  # sent at 09:00: the reminder rule counts from then
        assert uow.session.scalar(select(Invitation.sent_at)).replace(
            tzinfo=UTC) == clock.now
    clock.now += timedelta(hours=1)
    assert run_round(nsw).sent == []  # sent once


def test_reminders_follow_the_site_rule(nsw, make_participant, stand_in, clock):
    people(make_participant, 1)
    with nsw.uow() as uow:
        site = uow.repo.site("CAL")
        site.remind_after_days, site.remind_most = 1, 1
        uow.commit()
    clock.now = EVENING + timedelta(hours=12)  # 10:00
    made(nsw)
    run_round(nsw)
    assert sum(called(stand_in).values()) == 1
    for days, reminded in ((1, 1), (2, 0), (5, 0)):
        clock.now = EVENING + timedelta(hours=12, days=days)
        assert len(run_round(nsw).reminded) == reminded, days
    assert sum(called(stand_in).values()) == 2  # the invitation and one reminder


def test_two_rounds_at_once_send_each_invitation_once(nsw, make_participant, stand_in,
                                                      clock):
    numbers = people(make_participant, 6)
    made(nsw)
    stand_in.delay = 0.05  # slow enough that the two rounds overlap
    clock.now = EVENING + timedelta(hours=12)
    reports = []
    rounds = [threading.Thread(target=lambda: reports.append(run_round(nsw)))
              for _ in range(2)]
    for one in rounds:
        one.start()
    for one in rounds:
        one.join()

    assert called(stand_in) == Counter(dict.fromkeys(numbers, 1))
    assert sorted(code for report in reports for code, _, _ in report.sent) == [
        f"CAL-{n:04d}" for n in range(6)]
    assert statuses(nsw) == ["queued"] * 6


def test_two_rounds_at_once_make_each_fallback_step_once(nsw, make_participant, stand_in,
                                                         clock):
    people(make_participant, 6, channel="sms")
    made(nsw, "sms", status="failed")
    with nsw.uow() as uow:
        uow.repo.site("CAL").fallback_order = "sms,web"
        uow.commit()
    clock.now = EVENING + timedelta(hours=12)
    rounds = [threading.Thread(target=run_round, args=(nsw,)) for _ in range(2)]
    for one in rounds:
        one.start()
    for one in rounds:
        one.join()
    with nsw.uow() as uow:
        steps = Counter(uow.session.scalars(
            select(Invitation.previous_id).where(Invitation.channel == "web")))
    assert len(steps) == 6 and set(steps.values()) == {1}


def test_a_round_that_dies_mid_send_never_sends_twice(nsw, make_participant, stand_in,
                                                      clock, monkeypatch):
    """The round dies after Twilio took the first call and before its status was
    written (as a killed process would); the next round sends the rest, not it."""
    import web_survey.jobs as jobs

    numbers = people(make_participant, 3)
    made(nsw)
    clock.now = EVENING + timedelta(hours=12)
    real = jobs.deliver

    def dies_after_the_provider(*args):
        real(*args)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(jobs, "deliver", dies_after_the_provider)
    with pytest.raises(KeyboardInterrupt):
        run_round(nsw)
    monkeypatch.setattr(jobs, "deliver", real)
    assert statuses(nsw) == ["sending", "created", "created"]

    for hours in (0, 1):
        clock.now = EVENING + timedelta(hours=12 + hours)
        run_round(nsw)
    assert called(stand_in) == Counter(dict.fromkeys(numbers, 1))
    assert statuses(nsw)[1:] == ["queued", "queued"]
    # Its reminder comes when everyone's does: a reminder, never the lost send again.
    clock.now = EVENING + timedelta(days=3, hours=13)
    assert len(run_round(nsw).reminded) == 3
    assert called(stand_in) == Counter(dict.fromkeys(numbers, 2))


def test_a_provider_number_sends_its_share_a_round(nsw, make_participant, stand_in, clock):
    """Texts and calls share Twilio's one number: at most two sends a round from it."""
    people(make_participant, 3, channel="sms")
    made(nsw, "sms")
    made(nsw, "voice")
    clock.now = EVENING + timedelta(hours=12)
    first = run_round(nsw, per_number=2)
    assert len(first.sent) == 2 and first.counts()["deferred"] == 4
    # Another round in the same minute finds the number's share sent.
    clock.now += timedelta(seconds=30)
    again = run_round(nsw, per_number=2)
    assert again.sent == [] and again.counts()["deferred"] == 4
    clock.now += timedelta(seconds=30)  # the next minute: the next round's share
    second = run_round(nsw, per_number=2)
    assert len(second.sent) == 2
    assert statuses(nsw).count("queued") == 4


def test_a_round_started_inside_another_shares_the_numbers_cap(
        nsw, make_participant, stand_in, clock, monkeypatch):
    """A second worker's round starts while the first is sending: between them one
    number sends its share of the window, not a share each."""
    import web_survey.jobs as jobs

    people(make_participant, 6, channel="sms")
    made(nsw, "sms")
    clock.now = EVENING + timedelta(hours=12)
    real = jobs.deliver
    inner = []

    def another_round_starts(*args):
        if not inner:
            inner.append(None)
            inner[0] = run_round(nsw, per_number=2)
        return real(*args)

    monkeypatch.setattr(jobs, "deliver", another_round_starts)
    outer = run_round(nsw, per_number=2)
    assert len(inner[0].sent) == 1 and len(outer.sent) == 1  # the outer one's first
    # The inner round sent the outer one's second; both leave the other four.
    assert inner[0].counts()["deferred"] == 4 and outer.counts()["deferred"] == 4
    assert len({text["To"] for text in stand_in.sent("Messages")}) == 2  # two people
    clock.now += timedelta(minutes=1)
    assert len(run_round(nsw, per_number=2).sent) == 2


def test_two_rounds_that_count_at_once_cannot_both_take_the_last_places(
        nsw, make_participant, stand_in, clock, monkeypatch):
    """Two workers' rounds (one for CAL, one for CAM: both sites text from Twilio's one
    number) count the number's sends before either sends: the claim itself refuses the
    outer round the places the inner one took."""
    import web_survey.rounds as rounds

    people(make_participant, 3, channel="sms")
    for n in range(3):
        make_participant(f"CAM-{n:04d}", phone=f"+4477009002{n:02d}", site="CAM",
                         preferred_channel="sms")
    made(nsw, "sms")
    clock.now = EVENING + timedelta(hours=12)
    real = rounds.claimed_since
    inner = []

    def another_round_runs_after_the_count(*args):
        counted = real(*args)
        if not inner:
            inner.append(None)
            inner[0] = run_round(nsw, "CAM", per_number=2)
        return counted

    monkeypatch.setattr(rounds, "claimed_since", another_round_runs_after_the_count)
    outer = run_round(nsw, "CAL", per_number=2)
    assert [code for code, _, _ in inner[0].sent] == ["CAM-0000", "CAM-0001"]
    # CAL's round counted none sent, yet its claims found the two places taken.
    assert outer.sent == [] and outer.counts()["deferred"] == 3
    assert len({text["To"] for text in stand_in.sent("Messages")}) == 2  # two people
    assert statuses(nsw).count("queued") == 2


def test_tick_runs_one_round_from_the_command_line(nsw, cli, make_participant, stand_in):
    people(make_participant, 2)
    made(nsw)
    done = cli("tick", "--site", "cal", QUIET_HOURS="none")
    assert done.stdout.splitlines() == ["CAL-0000\tvoice\tsent: queued",
                                        "CAL-0001\tvoice\tsent: queued"]
    assert "2 sent, 0 steps, 0 reminded" in done.stderr
    assert "no site 'XYZ'" in cli("tick", "--site", "XYZ", expect=1).output
    again = cli("tick", QUIET_HOURS="none")
    assert again.stdout == "" and sum(called(stand_in).values()) == 2


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker and the job it is running: RQ runs each job in a child of its
    own session (a "work horse"), which a signal to the worker's group does not reach."""
    horses = [int(pid) for task in Path(f"/proc/{worker.pid}/task").glob("*")
              for pid in (task / "children").read_text().split()]
    os.killpg(worker.pid, signal.SIGKILL)
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def redis_queue() -> str:
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except OSError as error:
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({error})")
    name = f"nsw-test-{secrets.token_hex(6)}"
    yield name
    for key in connection.scan_iter(f"rq:*{name}*"):
        connection.delete(key)


def test_the_worker_sends_by_itself_and_a_sigkill_mid_batch_sends_nothing_twice(
        nsw, app_config, make_participant, stand_in, redis_queue, tmp_path: Path):
    numbers = people(make_participant, 8)
    made(nsw)
    # One more, reached four days ago and not answered: due a reminder now.
    make_participant("CAL-0100", phone="+447700900200", preferred_channel="voice")
    with nsw.uow() as uow:
        person = uow.repo.participant("CAL-0100")
        reminded = uow.repo.add_invitation(person, "baseline", "voice")
        reminded.status, reminded.sent_at = "answered", utcnow() - timedelta(days=4)
        uow.commit()
    stand_in.delay = 0.4  # a slow provider: the batch takes seconds
    env = project_env(app_config, tmp_path / "bin", REDIS_URL=REDIS_URL,
                      RQ_QUEUE=redis_queue, TICK_SECONDS="1", QUIET_HOURS="none")

    command = [str(tmp_path / "bin" / "nsw-feedback"), "worker"]
    log = (tmp_path / "worker.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log,
                                start_new_session=True)

    worker = start()
    try:
        wait_until(lambda: sum(called(stand_in).values()) >= 3, "the worker's first calls",
                   limit=60)
        kill(worker)
        worker.wait()
        assert sum(called(stand_in).values()) < len(numbers), "the batch ended before the kill"

        worker = start()
        # The reminder (the last invitation) goes out after the batch, and is queued.
        wait_until(lambda: "created" not in statuses(nsw) and statuses(nsw)[-1] == "queued",
                   "the rest of the batch and the reminder", limit=90)
    finally:
        kill(worker)
        worker.wait()
        log.close()
    calls = called(stand_in)
    assert all(calls[number] <= 1 for number in numbers), calls
    assert calls["+447700900200"] == 1
    # Each is sent, except at most the one the kill interrupted (claimed, never resent).
    assert statuses(nsw).count("sending") <= 1
    assert sum(calls[number] for number in numbers) >= len(numbers) - 1


def test_only_sends_still_worth_making_go_out(nsw, make_participant, stand_in, clock):
    """A round never sends an invitation a fallback step took over from, one to a
    timepoint the person has left, or one whose survey they finished."""
    numbers = people(make_participant, 4)
    first = made(nsw, status="retry")
    with nsw.uow() as uow:
        taken_over = uow.session.get(Invitation, first[0])
        step = uow.repo.add_invitation(taken_over.participant, "baseline", "web")
        step.previous_id = taken_over.id
        uow.session.get(Invitation, first[1]).participant.current_wave = "exit"
        finished = uow.session.get(Invitation, first[2])
        uow.session.add(Response(participant=finished.participant, wave="baseline",
                                 survey_id="individual", status="completed"))
        uow.commit()
    clock.now = EVENING + timedelta(hours=12)
    assert [code for code, _, _ in run_round(nsw).sent] == ["CAL-0003"]
    assert called(stand_in) == Counter({numbers[3]: 1})


def test_a_send_refused_for_now_is_tried_again_after_half_an_hour(nsw, make_participant,
                                                                  stand_in, clock):
    numbers = people(make_participant, 1)
    clock.now = EVENING + timedelta(hours=12)
    made(nsw, status="retry", status_at=clock.now)
    clock.now += timedelta(minutes=29)
    assert run_round(nsw).sent == []
    clock.now += timedelta(minutes=1)
    assert run_round(nsw).sent == [("CAL-0000", "voice", "queued")]
    assert called(stand_in) == Counter({numbers[0]: 1})


def test_a_weekly_pulse_is_sent_by_the_round_each_week_and_not_between(
        nsw, cli, make_participant, stand_in, clock, tmp_path):
    make_participant("CAL-0001", preferred_channel="sms")
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - {name: baseline}\n  - {name: weekly, every_days: 7}\n"
                    "  - {name: exit}\n", encoding="utf-8")
    cli("plan", "publish", str(plan), "--site", "CAL")
    pulses = []
    for days in (0, 3, 7, 8, 14):
        clock.now = EVENING + timedelta(days=days, hours=12)  # 10:00, out of quiet hours
        report = run_round(nsw)
        pulses.append(report.recurring)
    assert pulses == [1, 0, 1, 0, 1]
    with nsw.uow() as uow:
        sent = list(uow.session.execute(select(Invitation.occurrence, Invitation.status)
                                        .where(Invitation.wave == "weekly")
                                        .order_by(Invitation.id)))
    assert [n for n, _ in sent] == [1, 2, 3]
    assert all(status == "queued" for _, status in sent)
    assert len(stand_in.sent("Messages")) >= 3
