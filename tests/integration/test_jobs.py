"""Background jobs: in process without REDIS_URL, on the real Redis through RQ with it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from storage.models import Invitation
from tests.fake_senders import FakeSender, text_row
from web_survey.delivery import ChannelUnavailable
from web_survey.jobs import deliver_invitation, enqueue

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis() -> Redis:
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except OSError as error:  # redis' ConnectionError is an OSError
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({error})")
    return connection


@pytest.fixture
def queue_name(redis: Redis) -> Iterator[str]:
    """A queue of this test's own, so parallel runs never take each other's jobs."""
    name = f"nsw-test-{secrets.token_hex(6)}"
    yield name
    Queue(name, connection=redis).empty()
    for key in redis.scan_iter(f"rq:*{name}*"):
        redis.delete(key)


@pytest.fixture
def on_redis(app_config, queue_name: str) -> str:
    """Configure the app (ask for this before ``app``) to queue jobs on Redis."""
    app_config.update(REDIS_URL=REDIS_URL, RQ_QUEUE=queue_name)
    return queue_name


@pytest.fixture
def sender(nsw) -> FakeSender:
    """The SMS channel's provider, faked: outreach sends each invitation's texts to it."""
    fake = FakeSender()
    nsw.senders["sms"] = text_row(fake)
    return fake


def _sent(sender: FakeSender) -> list[str]:
    """The phone numbers texted, once per invitation (each sends a greeting and a question)."""
    return sorted(set(to for to, _ in sender.texts))


def _invitation(nsw, make_participant, channel: str = "sms") -> int:
    pid = make_participant()
    with nsw.uow() as uow:
        person = uow.repo.participant_by_id(pid)
        invitation = uow.repo.add_invitation(person, "baseline", channel)
        uow.commit()
        return invitation.id


def _status(nsw, invitation_id: int) -> tuple[str, str]:
    with nsw.uow() as uow:
        invitation = uow.session.get(Invitation, invitation_id)
        return invitation.status, invitation.provider_id


def test_without_redis_a_send_runs_at_once(nsw, make_participant, sender):
    invitation_id = _invitation(nsw, make_participant)

    submitted = enqueue(nsw, deliver_invitation, invitation_id)

    assert not submitted.queued and submitted.result == "queued"
    assert _sent(sender) == ["+447700900001"]
    assert _status(nsw, invitation_id) == ("queued", f"SM{len(sender.texts):032d}")


def test_the_status_outreach_decides_is_the_one_committed(nsw, make_participant, sender):
    invitation_id = _invitation(nsw, lambda: make_participant(phone=None))

    assert enqueue(nsw, deliver_invitation, invitation_id).result == "no_phone"

    assert sender.texts == []
    with nsw.uow() as uow:
        invitation = uow.session.get(Invitation, invitation_id)
        assert (invitation.status, invitation.provider_id) == ("no_phone", "")
        assert invitation.status_at is not None and invitation.sent_at is not None


def test_without_redis_a_dotted_path_runs_and_errors_reach_the_caller(nsw, make_participant):
    invitation_id = _invitation(nsw, make_participant)
    with pytest.raises(ChannelUnavailable, match="set TWILIO_ACCOUNT_SID"):
        enqueue(nsw, "web_survey.jobs.deliver_invitation", invitation_id)
    assert _status(nsw, invitation_id) == ("created", "")


def test_with_redis_the_send_waits_for_the_worker(on_redis, app, nsw, make_participant, redis,
                                                  sender):
    invitation_id = _invitation(nsw, make_participant)

    submitted = enqueue(nsw, deliver_invitation, invitation_id)

    assert submitted.queued and sender.texts == []
    assert _status(nsw, invitation_id) == ("created", "")
    queue = Queue(on_redis, connection=redis)
    assert queue.job_ids == [submitted.job_id]

    with app.app_context():
        SimpleWorker([queue], connection=redis).work(burst=True)

    assert _sent(sender) == ["+447700900001"]
    assert _status(nsw, invitation_id) == ("queued", f"SM{len(sender.texts):032d}")
    job = Job.fetch(submitted.job_id, connection=redis)
    assert job.get_status() == "finished" and job.return_value() == "queued"


def test_the_worker_command_runs_queued_jobs_in_forked_children(cli, app_config, nsw,
                                                                make_participant, redis,
                                                                queue_name, monkeypatch):
    web = _invitation(nsw, make_participant, channel="web")
    queue = Queue(queue_name, connection=redis)
    jobs = [queue.enqueue("web_survey.jobs.deliver_invitation", web),
            queue.enqueue("web_survey.jobs.deliver_invitation", web + 1000)]
    result = cli("worker", "--burst", REDIS_URL=REDIS_URL, RQ_QUEUE=queue_name)

    assert f"working on queue '{queue_name}' at redis://127.0.0.1:6379/0" in result.output
    # A web invitation is a link: delivering it reads it and leaves it as it was.
    assert [job.return_value() for job in jobs] == ["created", "missing"]
    assert queue.count == 0


def test_the_worker_command_says_what_is_missing(cli):
    result = cli("worker", "--burst", expect=1)
    assert "REDIS_URL is not set" in result.output
    result = cli("worker", "--burst", expect=1, REDIS_URL="redis://:s3cret@127.0.0.1:1/0")
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in result.output
    assert "s3cret" not in result.output


def test_a_wave_sent_with_redis_is_delivered_by_the_worker(on_redis, app, nsw,
                                                           make_participant, redis, sender):
    from web_survey.sending import send_wave

    make_participant("CAL-0001")
    make_participant("CAL-0002", phone="+447700900002")
    with nsw.uow() as uow:
        report = send_wave(nsw, uow, uow.repo.site("CAL"), "baseline", "sms", "lead")
        assert [i.status for i in report.sent] == ["created", "created"]
        ids = [i.id for i in report.sent]
    assert sender.texts == []
    with app.app_context():
        SimpleWorker([Queue(on_redis, connection=redis)], connection=redis).work(burst=True)
    assert _sent(sender) == ["+447700900001", "+447700900002"]
    assert [_status(nsw, i)[0] for i in ids] == ["queued", "queued"]
