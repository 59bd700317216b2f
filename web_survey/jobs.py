"""Background jobs: on RQ (Redis) when ``REDIS_URL`` is set, in this process when not.

A job is a module-level function taking plain arguments (ids, codes, file names; never
ORM objects, which do not survive pickling or a new session). It gets the database,
vault and senders from ``job_services()``: the caller's services when it runs in
process, the worker's app when ``nsw-feedback worker`` runs it. Nothing here builds an
app at import, so the worker imports jobs cheaply and builds its app once.

    enqueue(nsw, deliver_invitation, invitation.id)
    enqueue(nsw, "web_survey.jobs.deliver_invitation", invitation.id)   # or its path
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context

from bot.service.outreach import UNSENT, InvitationStatus
from storage.invitations import LINK_CHANNELS, SendCap, claim
from storage.models import Invitation, utcnow

from .bootstrap import Services
from .delivery import check_channel, deliver

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "nsw-feedback"
# How often the worker runs a round of what runs by itself (``web_survey.rounds``), in
# seconds (``TICK_SECONDS``; 0 turns the schedule off).
TICK_SECONDS = 60
# Long enough for a slow text-to-speech render or a recording download; a stuck job
# is stopped so it cannot hold the worker for ever.
JOB_TIMEOUT = 600

# The services an in-process job runs with (set only while enqueue runs it).
_running_with: ContextVar[Services | None] = ContextVar("nsw_job_services", default=None)


@dataclass(frozen=True)
class Submitted:
    """What ``enqueue`` did: queued on Redis (``job_id``) or ran here (``result``)."""

    job_id: str | None = None
    result: object = None

    @property
    def queued(self) -> bool:
        """True when a worker will run the job later."""
        return self.job_id is not None


def queue_name(config: Mapping[str, Any]) -> str:
    """The RQ queue this deployment uses (``RQ_QUEUE``, so deployments can share Redis)."""
    return str(config.get("RQ_QUEUE") or DEFAULT_QUEUE)


def redis_address(url: str) -> str:
    """``REDIS_URL`` without its password, for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or 6379}{parts.path}"


def enqueue(nsw: Services, job: Callable[..., Any] | str, *args: Any) -> Submitted:
    """Run ``job(*args)`` in the background on RQ, or now when ``REDIS_URL`` is unset.

    ``job`` is a module-level function or its dotted path. In process, its exceptions
    reach the caller; on RQ they go to the worker's log and RQ's failed-job registry.
    """
    url = str(nsw.config.get("REDIS_URL") or "")
    if url:
        from rq import Queue

        queue = Queue(queue_name(nsw.config), connection=_redis(url))
        # rq takes a dotted path or a function, but its stubs reject the union of the two.
        queued = queue.enqueue(job, *args, job_timeout=JOB_TIMEOUT)  # type: ignore[type-var]  # rq rejects str | Callable
        return Submitted(job_id=queued.id)
    function = _resolve(job)
    with _running_with_services(nsw):
        return Submitted(result=function(*args))


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    """One client (and connection pool) per Redis URL, reused by every enqueue."""
    from redis import Redis

    return Redis.from_url(url)


def _resolve(job: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(job):
        return job
    module, _, name = job.rpartition(".")
    function = getattr(importlib.import_module(module), name)
    if not callable(function):
        raise TypeError(f"{job} is not a function")
    return function


@contextmanager
def _running_with_services(nsw: Services) -> Iterator[None]:
    token = _running_with.set(nsw)
    try:
        yield
    finally:
        _running_with.reset(token)


def job_services() -> Services:
    """The services a job uses: its caller's in process, else the running app's."""
    nsw = _running_with.get()
    if nsw is not None:
        return nsw
    if has_app_context():
        return current_app.extensions["nsw"]
    raise RuntimeError("jobs run through enqueue() or inside `nsw-feedback worker`")


def tick_seconds(config: Mapping[str, Any]) -> int:
    """Seconds between the worker's rounds (``TICK_SECONDS``; 0: no rounds)."""
    value = config.get("TICK_SECONDS")
    return TICK_SECONDS if value in (None, "") else int(value)


def work(config: Mapping[str, Any], burst: bool = False) -> bool:
    """Run an RQ worker on ``config``'s queue (inside the app's context); True if it ran jobs.

    Each job runs in a forked child, so a crashing job never takes the worker down;
    the database engine drops inherited connections on fork (``storage.db``). Unless
    ``burst``, RQ's own cron scheduler puts a ``tick`` job (one round) on the queue
    every ``TICK_SECONDS``, from a thread of this process, so the one ``worker`` process
    both schedules the rounds and runs them. Several workers each schedule theirs: rounds
    may overlap, and each send is claimed in the database, so none is made twice.
    """
    from rq import Worker

    connection = _redis(str(config["REDIS_URL"]))
    every = tick_seconds(config)
    if every and not burst:
        _schedule_rounds(connection, queue_name(config), every)
    worker = Worker([queue_name(config)], connection=connection)
    return bool(worker.work(burst=burst, logging_level="INFO"))


def _schedule_rounds(connection: Any, queue: str, every: int) -> threading.Thread:
    """Start RQ's ``CronScheduler`` loop for ``tick`` in a daemon thread.

    Its ``start()`` installs signal handlers, which only the main thread may (the RQ
    worker has it), so the thread runs the same steps: enqueue what is due, beat its
    heart, sleep until the next is due. A daemon thread ends with the worker, SIGKILL
    included, so no scheduler is left behind.
    """
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=connection)
    scheduler.register(tick, queue_name=queue, interval=every, job_timeout=JOB_TIMEOUT)

    def loop() -> None:
        scheduler.register_birth()
        while True:
            try:
                if scheduler.enqueue_jobs():
                    scheduler.save()
                scheduler.heartbeat()
            except Exception:  # Redis away for a moment: the worker says so too; go on
                log.exception("could not schedule the next round")
            time.sleep(max(scheduler.calculate_sleep_interval(), 0.2))

    thread = threading.Thread(target=loop, name="nsw-rounds", daemon=True)
    thread.start()
    log.info("a round every %s seconds on queue %r", every, queue)
    return thread


# ---------------------------------------------------------------- the jobs


def deliver_invitation(invitation_id: int, reminder: int = 0) -> str:
    """Send one invitation on its channel (``reminder``: as that reminder, counted from
    1) and commit its new status (outreach writes it); return the status (``missing`` if
    the person was erased after the send was queued).

    The send is claimed in the database first (``storage.invitations.claim``), so a job
    run twice, or a round sending the same invitation at the same moment, sends it once.
    """
    return send_once(job_services(), invitation_id, reminder)[1]


# What ``send_once`` says in place of a status when the number's cap left it unsent.
OVER_CAP = "over the cap"


def send_once(nsw: Services, invitation_id: int, reminder: int = 0,
              cap: SendCap | None = None) -> tuple[bool, str]:
    """Claim, then send, one invitation (as ``deliver_invitation``); the round calls it
    too, with its number's ``cap``. Returns whether this call sent it, and the status it
    has after (``OVER_CAP`` when the cap left it for a later round)."""
    now = nsw.outreach.clock()
    with nsw.uow() as uow:
        invitation = uow.session.get(Invitation, invitation_id)
        if invitation is None:
            # The participant was erased after the send was queued: nothing to send.
            log.info("invitation %s no longer exists; not sent", invitation_id)
            return False, "missing"
        check_channel(nsw, invitation.channel)  # before the claim: nothing taken in vain
        link = invitation.channel in LINK_CHANNELS
        if link and not reminder:
            return False, invitation.status  # a link is handed on by staff: nothing to send
        ours = claim(uow.repo, invitation_id, now,
                     to_status=None if link else InvitationStatus.SENDING,
                     from_statuses=() if reminder else UNSENT,
                     reminder=reminder or None, cap=cap)
        uow.commit()
        uow.session.refresh(invitation)
        untaken = (invitation.reminders_sent == reminder - 1 if reminder
                   else invitation.status in UNSENT)
        if not ours and cap is not None and untaken:
            log.info("invitation %s waits: %s sent its share", invitation_id, cap.line)
            return False, OVER_CAP
        if not ours:
            log.info("invitation %s is sent by another round or job", invitation_id)
            return False, invitation.status
        if link:
            return True, invitation.status  # a reminder counted for staff to hand on
        status = deliver(nsw, uow.repo, invitation)
        uow.commit()
        log.info("invitation %s (%s): %s", invitation_id, invitation.channel, status)
        return True, status


def tick(site_code: str | None = None) -> dict[str, int]:
    """One round of what runs by itself (``web_survey.rounds.run_round``), as the
    worker's schedule runs it; returns how many of each thing it did."""
    from .rounds import run_round

    return run_round(job_services(), site_code).counts()


def send_digests(now: datetime | None = None) -> dict[str, int]:
    """Email every site's weekly digest (the week before ``now``) to its staff; the
    scheduler calls this once a week. A site whose digest for that week has gone already
    is skipped, so a retried or doubled run sends nothing twice. Returns site code ->
    staff emailed (empty, with one log line, when mail is not configured)."""
    from .digest import send_all

    return send_all(job_services(), now or utcnow())
