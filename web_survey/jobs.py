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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context

from storage.models import Invitation, utcnow

from .bootstrap import Services
from .delivery import deliver

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "nsw-feedback"
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


def work(config: Mapping[str, Any], burst: bool = False) -> bool:
    """Run an RQ worker on ``config``'s queue (inside the app's context); True if it ran jobs.

    Each job runs in a forked child, so a crashing job never takes the worker down;
    the database engine drops inherited connections on fork (``storage.db``).
    """
    from rq import Worker

    worker = Worker([queue_name(config)], connection=_redis(str(config["REDIS_URL"])))
    return bool(worker.work(burst=burst, logging_level="INFO"))


# ---------------------------------------------------------------- the jobs


def deliver_invitation(invitation_id: int) -> str:
    """Send one invitation on its channel and commit its new status (outreach writes it);
    return the status (``missing`` if the person was erased after the send was queued)."""
    nsw = job_services()
    with nsw.uow() as uow:
        invitation = uow.session.get(Invitation, invitation_id)
        if invitation is None:
            # The participant was erased after the send was queued: nothing to send.
            log.info("invitation %s no longer exists; not sent", invitation_id)
            return "missing"
        status = deliver(nsw, uow.repo, invitation)
        uow.commit()
        log.info("invitation %s (%s): %s", invitation_id, invitation.channel, status)
        return status


def send_digests(now: datetime | None = None) -> dict[str, int]:
    """Email every site's weekly digest (the week before ``now``) to its staff; the
    scheduler calls this once a week. A site whose digest for that week has gone already
    is skipped, so a retried or doubled run sends nothing twice. Returns site code ->
    staff emailed (empty, with one log line, when mail is not configured)."""
    from .digest import send_all

    return send_all(job_services(), now or utcnow())
