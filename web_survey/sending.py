"""Sending a wave's invitations and the reminders after them, for staff pages and the CLI.

Invitations are committed before any message naming their token goes out, and each
send's status is committed as it happens: a crash half-way through a wave leaves every
sent invitation marked sent and the rest waiting, never a message with an unknown token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.service.outreach import Rule, due_reminders
from bot.service.reach import Audience, audience, choose_channel, planned_types
from content.plan import Plan
from storage.invitations import Chooser, InviteOutcome, due_openings, due_pulses, invite_wave
from storage.models import Invitation, Participant, Site, utcnow
from storage.uow import UnitOfWork

from .bootstrap import Services
from .delivery import ChannelUnavailable, check_channel
from .jobs import deliver_invitation, enqueue


@dataclass
class SendReport:
    """What a send did: invitations sent (or made, for web links), people skipped, notes
    on people invited (a Telegram link for someone not linked yet), and people left out
    because the timepoint is not for them; each (code, reason or note)."""

    sent: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)


def _send(services: Services, uow: UnitOfWork, invitation: Invitation) -> None:
    """Hand one committed invitation to the background job that sends it.

    With ``REDIS_URL`` the worker sends it later; without, it is sent now, and the
    invitation is re-read so callers see its new status.
    """
    enqueue(services, deliver_invitation, invitation.id)
    uow.session.refresh(invitation)


class UnknownTimepoint(ValueError):
    """A timepoint the site's plan does not have (the message lists those it has)."""


def plan_with(services: Services, uow: UnitOfWork, site: Site, wave: str) -> Plan:
    """The site's plan; UnknownTimepoint when ``wave`` is not one of its timepoints."""
    plan = services.conversations.catalogue.plan(uow.session, site.id)
    if wave not in plan.names:
        raise UnknownTimepoint(f"{site.code} has no timepoint {wave!r} in its plan "
                               f"(it has: {', '.join(plan.names)})")
    return plan


def make_due_invitations(services: Services, uow: UnitOfWork, site: Site,
                    now: datetime) -> list[Invitation]:
    """Make (not send) the invitations of the site's plan that fall due by themselves:
    the next pulse of each recurring timepoint for everyone due one
    (``storage.invitations.due_pulses``), and each timepoint that opens a set number of
    days after enrolment (``due_openings``); each on the person's own channel;
    committed. The round that made them sends them, claimed and rate-limited like
    every other send."""
    plan = services.conversations.catalogue.plan(uow.session, site.id)
    choose = chooser(services, uow, None)
    made: list[Invitation] = []
    for timepoint in plan.timepoints:
        types = planned_types(timepoint)
        if timepoint.every_days:
            due = due_pulses(uow.repo, site, timepoint.name, timepoint.every_days, types,
                             now)
        elif timepoint.opens_after_days:
            due = due_openings(uow.repo, site, timepoint.name, timepoint.opens_after_days,
                               timepoint.window_days, types, now)
        else:
            continue
        for person in due:
            made.extend(invite_wave(uow.repo, site, timepoint.name, choose, person.code,
                                    plan.names, bool(timepoint.every_days), types
                                    ).invitations)
    for invitation in made:
        invitation.created_at = now  # the round's clock: the next pulse counts from it
    if made:
        uow.repo.audit("schedule", "invite", site.code, wave="due", channel="own",
                       count=len(made))
    uow.commit()
    return made


def usable(services: Services, channel: str) -> bool:
    """True when this server can invite on ``channel`` (``check_channel`` passes)."""
    try:
        check_channel(services, channel)
    except ChannelUnavailable:
        return False
    return True


def chooser(services: Services, uow: UnitOfWork, channel: str | None) -> str | Chooser:
    """``channel`` when staff forced one (ChannelUnavailable when it cannot be used), else
    outreach's rule for each person's own channel (``bot.service.reach``)."""
    if channel is not None:
        check_channel(services, channel)
        return channel

    def choose(person: Participant) -> tuple[str | None, str]:
        choice = choose_channel(person, uow.repo, lambda name: usable(services, name))
        return choice.channel, choice.reason

    return choose


def make_wave(services: Services, uow: UnitOfWork, site: Site, wave: str,
              channel: str | None, code: str | None = None, types: Iterable[str] = ()
              ) -> tuple[InviteOutcome, Audience]:
    """Make (not send, not commit) the invitations to ``wave`` of ``site``'s people (or
    one) on ``channel`` (None: each person's own), for the people the timepoint is for
    (``bot.service.reach.audience``: its plan's ``for``, narrowed to the ``types`` staff
    chose); and who that is.

    Raises UnknownTimepoint when ``wave`` is not a timepoint of the site's plan,
    NotForThem when ``types`` names a type it is not for, and ChannelUnavailable when a
    forced channel cannot send; each before anything is made.
    """
    plan = plan_with(services, uow, site, wave)
    timepoint = plan.timepoint(wave)
    who = audience(timepoint, types)
    outcome = invite_wave(uow.repo, site, wave, chooser(services, uow, channel), code,
                          plan.names, bool(timepoint.every_days), who.types)
    return outcome, who


def send_wave(services: Services, uow: UnitOfWork, site: Site, wave: str,
              channel: str | None, actor: str, code: str | None = None,
              types: Iterable[str] = ()) -> SendReport:
    """Invite ``site``'s people (or one) to ``wave`` on ``channel`` and send each; with
    ``channel`` None, each on their own channel (people who cannot be are skipped, with
    the reason). Only the people the timepoint is for (of ``types``, when staff chose
    some) are invited; the rest are listed as left out, with the reason.

    Raises ChannelUnavailable, UnknownTimepoint or NotForThem before anything is made
    (``make_wave``).
    """
    outcome, who = make_wave(services, uow, site, wave, channel, code, types)
    uow.repo.audit(actor, "invite", site.code, wave=wave, channel=channel or "own",
                   count=len(outcome.invitations),
                   **({"types": list(who.types)} if who.types else {}))
    uow.commit()
    report = SendReport(skipped=outcome.skipped, notes=outcome.notes,
                        left_out=[(person, who.reason) for person in outcome.left_out])
    for invitation in outcome.invitations:
        _send(services, uow, invitation)
        report.sent.append(invitation)
    return report


def send_reminders(services: Services, uow: UnitOfWork, site: Site, actor: str,
                   now: datetime | None = None, after: timedelta | None = None,
                   most: int | None = None, dry_run: bool = False) -> SendReport:
    """Remind the people at ``site`` who were invited but have not finished, by the
    site's reminder rule (``after`` and ``most`` override it).

    Each reminder is claimed in the database, by its number, before the send
    (``web_survey.jobs.send_once``): a crash during the send, this button pressed twice
    or the worker's round reminding at the same moment never reminds anyone twice.
    Outreach decides who may be contacted now, as for a first invitation
    (``bot.service.outreach``). Web invitations have no sender: they are listed for staff
    to send the link again themselves. A channel that cannot send is reported in
    ``skipped`` and its people stay due.
    """
    now = now or utcnow()
    rule = Rule.of(site)
    after = rule.after if after is None else after
    most = rule.most if most is None else most
    report = SendReport()
    unavailable: set[str] = set()
    due = due_reminders(uow.repo, site, now, after, most)
    uow.commit()  # nothing held open while the sends write
    for invitation in due:
        code = invitation.participant.code
        try:
            check_channel(services, invitation.channel)
        except ChannelUnavailable as error:
            unavailable.add(invitation.channel)
            report.skipped.append((code, str(error)))
            continue
        report.sent.append(invitation)
        if dry_run:
            continue
        enqueue(services, deliver_invitation, invitation.id, invitation.reminders_sent + 1)
        uow.session.refresh(invitation)
    if not dry_run:
        uow.repo.audit(actor, "remind", site.code, count=len(report.sent),
                       unavailable=sorted(unavailable))
        uow.commit()
    return report
