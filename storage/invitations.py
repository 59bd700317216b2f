"""Inviting participants to a wave: who is invited, and who is skipped and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from .models import Invitation, Participant, Site
from .uow import Repository


@dataclass
class InviteOutcome:
    """The invitations made, and the people skipped with the reason."""

    invitations: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def invite_wave(repo: Repository, site: Site, wave: str, channel: str,
                code: str | None = None) -> InviteOutcome:
    """Invite ``site``'s participants (or one) to ``wave`` on ``channel``.

    Inviting for the exit wave opens that wave for the person. People who opted out are
    skipped, and so is anyone whose response to the wave is already finished.
    """
    query = select(Participant).where(Participant.site_id == site.id,
                                      Participant.is_tryout.is_(False))
    if code:
        query = query.where(Participant.code == code.upper())
    people = list(repo.session.scalars(query.order_by(Participant.code)))
    outcome = InviteOutcome()
    if code and not people:
        outcome.skipped.append((code.upper(), f"not a participant of {site.code}"))
    for person in people:
        if person.opted_out:
            outcome.skipped.append((person.code, "opted out"))
            continue
        response = repo.response(person, wave)
        if response is not None and response.status != "started":
            outcome.skipped.append((person.code, f"already {response.status}"))
            continue
        if wave == "exit":
            person.current_wave = "exit"
        outcome.invitations.append(repo.add_invitation(person, wave, channel))
    repo.session.flush()
    return outcome

