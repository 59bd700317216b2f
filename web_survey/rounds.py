"""One round of what runs by itself: the worker runs one every ``TICK_SECONDS`` (RQ's
cron scheduler, ``web_survey.jobs``) and ``nsw-feedback tick`` runs one for cron.

A round, site by site:

1. **fallback steps**: each person's latest invitation per timepoint that has had its
   chance (``bot.service.outreach.step_over``: refused for good, no phone, no answer in
   its time) gets the next channel of the site's order (``next_channel``), as a new
   invitation that names the one before (``Invitation.previous_id``); a web step is a
   link card for a worker to print (the invitations page says so);
2. **waiting sends**: invitations made but not sent, held in quiet hours or refused for
   now are sent, once the quiet hours are over (and not before; a refused one after
   ``RETRY_WAIT``, 30 minutes);
3. **reminders**: as the site's rule says (``Site.remind_after_days``,
   ``Site.remind_most``), on the channels that send; link reminders stay for staff to
   hand on (the invitations page and ``remind`` list them).

Before the waiting sends, the invitations the site's plan makes by itself are made
(``due_invitations``): each recurring timepoint's next pulse, and each timepoint that
opens a set number of days after enrolment (``opens_after_days``, within its
``window_days``); step 2 sends them.

Rules are outreach's (``bot.service.outreach``); this module only runs them. It is safe
to run twice at once, or again after a crash: every send is claimed in the database
before a provider is called (``web_survey.jobs.send_once``), and a fallback step can be
made once (``storage.invitations.add_step``). Sends are rate-limited per provider
number: at most ``SENDS_PER_ROUND`` (default 30) invitations from one number in a
round's window (the ``TICK_SECONDS`` it starts in), counted in the database across
every worker and round (``Budget``), the rest waiting for the next window.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.service.outreach import (
    UNSENT,
    Rule,
    due_reminders,
    next_channel,
    retry_due,
    step_over,
)
from storage.invitations import (
    LINK_CHANNELS,
    SendCap,
    add_step,
    claimed_since,
    latest_invitations,
    replied,
    tried_channels,
    waiting_sends,
)
from storage.models import Invitation, Site

from .bootstrap import Services
from .jobs import OVER_CAP, TICK_SECONDS, send_once, tick_seconds
from .sending import make_due_invitations, usable

log = logging.getLogger(__name__)

# Invitations a round sends from one provider number at most. Twilio queues what a
# number sends at about one text segment a second (a UK long code); an SMS invitation
# is two or three texts and a round runs each minute, so 30 keeps a number's queue
# under a minute and a half. Set SENDS_PER_ROUND to change it.
SENDS_PER_ROUND = 30


@dataclass
class RoundReport:
    """What one round did, as (participant code, channel, what) lines."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    reminded: list[tuple[str, str, str]] = field(default_factory=list)
    # Sends left for the next round because a number had sent its share.
    deferred: Counter[str] = field(default_factory=Counter)
    recurring: int = 0

    def counts(self) -> dict[str, int]:
        """How many of each, for a job's result and the command line."""
        return {"sent": len(self.sent), "steps": len(self.steps),
                "reminded": len(self.reminded), "deferred": sum(self.deferred.values()),
                "recurring": self.recurring}


class Budget:
    """Sends per provider number (``Outreach.line``) in the round's window, ``per_number``
    at most, whichever process sends them.

    The window is the ``TICK_SECONDS`` (a minute by default) ``now`` falls in. The first
    send from a number counts the sends already claimed from it in the window (one
    query a number and round); each claim then takes its place only while the number is
    under the cap (``storage.invitations.claim``), so two workers, or a round still
    running when the next begins, share the cap instead of each sending it.
    """

    def __init__(self, nsw: Services, per_number: int, now: datetime) -> None:
        self.nsw = nsw
        self.used: dict[str, int] = {}
        self.per_number = per_number
        seconds = tick_seconds(nsw.config) or TICK_SECONDS
        self.since = datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)

    def cap(self, channel: str) -> SendCap:
        """The cap ``channel``'s claims carry: its number's, over the channels it sends."""
        line = self.nsw.outreach.line(channel)
        channels = {name for name in self.nsw.senders if self.nsw.outreach.line(name) == line}
        return SendCap(line, tuple(sorted(channels | {channel})), self.since, self.per_number)

    def take(self, channel: str) -> SendCap | None:
        """The cap to claim ``channel``'s next send with, counted, or None when its number
        has sent its share in this window (as far as this round knows)."""
        cap = self.cap(channel)
        if cap.line not in self.used:
            with self.nsw.uow() as uow:
                self.used[cap.line] = claimed_since(uow.repo, cap.channels, cap.since)
        if self.used[cap.line] >= self.per_number:
            return None
        self.used[cap.line] += 1
        return cap

    def full(self, cap: SendCap) -> None:
        """Another process took the number's last places: nothing more this round."""
        self.used[cap.line] = self.per_number


def sends_per_round(config: Mapping[str, Any]) -> int:
    """``SENDS_PER_ROUND``, or the default."""
    return int(config.get("SENDS_PER_ROUND") or SENDS_PER_ROUND)


def run_round(nsw: Services, site_code: str | None = None, actor: str = "schedule",
              per_number: int | None = None) -> RoundReport:
    """Run one round for every site (or ``site_code``'s); see the module's description.
    The time is outreach's clock (``Outreach.clock``), which tests set."""
    now = nsw.outreach.clock()
    report = RoundReport()
    budget = Budget(nsw, per_number or sends_per_round(nsw.config), now)
    with nsw.uow() as uow:
        query = select(Site.code).where(Site.is_tryout.is_(False)).order_by(Site.code)
        if site_code:
            query = query.where(Site.code == site_code.upper())
        codes = list(uow.session.scalars(query))
    for code in codes:
        before = report.counts()
        _fallback_steps(nsw, code, now, report, actor)
        due_invitations(nsw, code, now, report)
        _waiting(nsw, code, now, report, budget)
        _reminders(nsw, code, now, report, budget)
        after = report.counts()
        did = {what: after[what] - before[what] for what in ("sent", "reminded")}
        if any(did.values()):
            # One line a site and round for the sends; each fallback step has its own.
            with nsw.uow() as uow:
                uow.repo.audit(actor, "round", code, **did)
                uow.commit()
    return report


def due_invitations(nsw: Services, site_code: str, now: datetime,
                          report: RoundReport) -> None:
    """Make the invitations of the site's plan that fall due ``now`` (a recurring
    timepoint's next pulse, a timepoint that opens days after enrolment:
    ``make_due_invitations``), counting them in ``report.recurring``; the round's waiting
    sends send them."""
    with nsw.uow() as uow:
        site = uow.repo.site(site_code)
        if site is not None:
            report.recurring += len(make_due_invitations(nsw, uow, site, now))


def _fallback_steps(nsw: Services, site_code: str, now: datetime, report: RoundReport,
                    actor: str) -> None:
    """Make the next step for each latest invitation that has had its chance."""
    with nsw.uow() as uow:
        site = uow.repo.site(site_code)
        if site is None or not site.fallback_channels:
            return
        rule, order = Rule.of(site), site.fallback_channels
        due = []
        for invitation, status in latest_invitations(uow.repo, site):
            answered = replied(uow.repo, invitation)
            reason = step_over(invitation, status, answered, now, rule)
            if reason:
                due.append((invitation.id, reason))
    for invitation_id, reason in due:
        with nsw.uow() as uow:
            previous = uow.session.get(Invitation, invitation_id)
            if previous is None:
                continue
            person = previous.participant
            tried = tried_channels(uow.repo, person.id, previous.wave)
            channel = next_channel(order, tried, person, uow.repo,
                                   lambda name: usable(nsw, name))
            if channel is None:
                continue  # the end of the order: the last step stays as it is
            step = add_step(uow.repo, previous, channel)
            if step is None:
                continue  # another round made this step first
            line = (person.code, channel, f"after {previous.channel}: {reason}")
            uow.repo.audit(actor, "fallback", site_code, participant=person.code,
                           wave=previous.wave, channel=channel, after=previous.channel,
                           why=reason)
            uow.commit()
            report.steps.append(line)
            log.info("%s: %s tried next (%s)", person.code, channel, line[2])


def _waiting(nsw: Services, site_code: str, now: datetime, report: RoundReport,
             budget: Budget) -> None:
    """Send what waits to be sent, unless it is quiet hours."""
    if nsw.outreach.quiet.covers(now):
        return
    channels = [name for name in nsw.senders if name not in LINK_CHANNELS]
    with nsw.uow() as uow:
        site = uow.repo.site(site_code)
        if site is None:
            return
        waiting = [(i, uow.session.get(Invitation, i)) for i in
                   waiting_sends(uow.repo, site, UNSENT, channels)]
        work = [(i, inv.channel, inv.participant.code) for i, inv in waiting
                if inv and retry_due(inv, now)]
    for invitation_id, channel, code in work:
        cap = budget.take(channel)
        if cap is None:
            report.deferred[channel] += 1
            continue
        ours, status = send_once(nsw, invitation_id, cap=cap)
        if status == OVER_CAP:
            budget.full(cap)
            report.deferred[channel] += 1
        if ours:
            report.sent.append((code, channel, status))


def _reminders(nsw: Services, site_code: str, now: datetime, report: RoundReport,
               budget: Budget) -> None:
    """Remind whoever the site's rule says is due, on the channels that send."""
    if nsw.outreach.quiet.covers(now):
        return
    with nsw.uow() as uow:
        site = uow.repo.site(site_code)
        if site is None:
            return
        rule = Rule.of(site)
        due = [(i.id, i.channel, i.participant.code, i.reminders_sent + 1)
               for i in due_reminders(uow.repo, site, now, rule.after, rule.most)
               if i.channel in nsw.senders and i.channel not in LINK_CHANNELS]
    for invitation_id, channel, code, number in due:
        cap = budget.take(channel)
        if cap is None:
            report.deferred[channel] += 1
            continue
        ours, status = send_once(nsw, invitation_id, number, cap)
        if status == OVER_CAP:
            budget.full(cap)
            report.deferred[channel] += 1
        if ours:
            report.reminded.append((code, channel, status))
