"""Invitations by text and by phone call, and Twilio's reports of how they went.

A text invitation is the start of the conversation itself (the greeting and the consent
question, or "you are on question 3 of 7" for someone part-way through), so the person
answers by replying. A call invitation rings the person; when they pick up, Twilio
fetches ``/twilio/voice`` and the call survey begins. Nobody who opted out is contacted,
and nobody is contacted in quiet hours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twilio.base.exceptions import TwilioRestException

from bot.engine import Event, messages
from storage.models import Invitation, Participant, utcnow

from .twilio_api import UNSUBSCRIBED, TwilioGateway, TwilioSettings

log = logging.getLogger(__name__)

# Twilio's message and call statuses, as an invitation records them.
STATUSES = {
    "accepted": "queued", "queued": "queued", "sending": "queued", "initiated": "queued",
    "sent": "sent", "ringing": "sent",
    "delivered": "delivered", "read": "delivered",
    "in-progress": "answered", "completed": "answered",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
    "busy": "no-answer", "no-answer": "no-answer",
}
# Callbacks can arrive out of order: a late "sent" must not undo "delivered".
_RANK = {"queued": 1, "sent": 2, "delivered": 3, "answered": 3, "failed": 3, "no-answer": 3}


@dataclass(frozen=True)
class QuietHours:
    """Hours in the site's time zone when nobody is texted or called."""

    start: time | None
    end: time | None
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone_name: str) -> QuietHours:
        """``"20:00-09:00"`` (may wrap past midnight) in ``zone_name``; "none" for none."""
        try:
            zone = ZoneInfo(zone_name or "Europe/London")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"SITE_TIMEZONE {zone_name!r} is not a time zone") from None
        if spec.strip().lower() in ("", "none", "off"):
            return cls(None, None, zone)
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec)
        try:
            if match is None:
                raise ValueError
            hours = [int(g) for g in match.groups()]
            return cls(time(hours[0], hours[1]), time(hours[2], hours[3]), zone)
        except ValueError:
            raise ValueError(f"QUIET_HOURS {spec!r} must look like 20:00-09:00") from None

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` (timezone-aware) falls in the quiet hours."""
        if self.start is None or self.end is None:
            return False
        local = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Outbound:
    """The ``sms`` and ``voice`` senders of ``Services.senders``."""

    def __init__(self, gateway: TwilioGateway, quiet: QuietHours, base_url: str) -> None:
        self.gateway = gateway
        self.quiet = quiet
        self.base_url = base_url

    def sms(self, services: Any, invitation: Invitation) -> str:
        """Text the opening of the survey; returns the invitation's new status."""
        return self._send(services, invitation, self._text)

    def voice(self, services: Any, invitation: Invitation) -> str:
        """Call the person; the survey starts when they answer."""
        return self._send(services, invitation, self._call)

    def _text(self, services: Any, person: Participant, phone: str) -> str:
        # The opening goes through the conversation service, so the reply the person
        # sends is read as the answer to the question they were just asked.
        reply = services.conversations.handle(person.id, "sms", Event("start"))
        sid = ""
        for text in messages(reply.prompts):
            sid = self.gateway.send_sms(phone, text, f"{self.base_url}/twilio/status")
        return sid

    def _call(self, services: Any, person: Participant, phone: str) -> str:
        return self.gateway.call(phone, f"{self.base_url}/twilio/voice",
                                 f"{self.base_url}/twilio/status")

    def _send(self, services: Any, invitation: Invitation,
              place: Callable[[Any, Participant, str], str]) -> str:
        """Send unless the person opted out, has no phone, or it is quiet hours.

        The conversation service writes in its own transactions: with SQLite, call this
        before flushing other changes in the invitation's session.
        """
        person = invitation.participant
        contact = next((c for c in person.contacts if c.kind == "phone"), None)
        if person.opted_out:
            status = "opted_out"
        elif contact is None:
            status = "no_phone"
        elif self.quiet.covers(utcnow()):
            status = "held"
        else:
            try:
                invitation.provider_id = place(services, person,
                                               services.vault.decrypt(contact.secret))
                invitation.sent_at = utcnow()
                status = "queued"
            except TwilioRestException as error:
                status = _refused(services, person, error)
            except OSError as error:
                log.error("could not reach Twilio for %s: %s", person.code, error)
                status = "failed"
        invitation.status = status
        invitation.status_at = utcnow()
        return status


def _refused(services: Any, person: Participant, error: TwilioRestException) -> str:
    if error.code == UNSUBSCRIBED:
        log.info("%s texted STOP to our number: marked as opted out", person.code)
        services.conversations.opt_out(person.id, True, "twilio: unsubscribed (21610)")
        return "opted_out"
    # Twilio's message can quote the phone number, so only its code is logged.
    log.error("Twilio refused the invitation for %s: HTTP %s, error %s "
              "(https://www.twilio.com/docs/errors/%s)", person.code, error.status, error.code,
              error.code)
    return "failed"


def record_status(services: Any, provider_id: str, provider_status: str,
                  error_code: str = "") -> None:
    """Record Twilio's report on a text or call on the invitation it belongs to."""
    status = STATUSES.get(provider_status)
    with services.uow() as uow:
        invitation = uow.repo.invitation_by_provider_id(provider_id) if provider_id else None
        if invitation is None:
            return  # a reply inside a conversation, or a call the person made
        if status and _RANK[status] >= _RANK.get(invitation.status, 0):
            invitation.status = status
            invitation.status_at = utcnow()
        participant_id = invitation.participant_id
        uow.commit()
    if error_code == str(UNSUBSCRIBED):
        services.conversations.opt_out(participant_id, True, "twilio: unsubscribed (21610)")


def senders(config: Mapping[str, Any]) -> dict[str, Callable[[Any, Invitation], str]]:
    """The ``sms`` and ``voice`` senders, or none (with one log line) when not configured."""
    settings = TwilioSettings.from_config(config)
    if not settings.configured:
        log.info("SMS and phone surveys are off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
                 "and TWILIO_FROM_NUMBER to turn them on")
        return {}
    try:
        quiet = QuietHours.parse(str(config.get("QUIET_HOURS") or ""),
                                 str(config.get("SITE_TIMEZONE") or ""))
    except ValueError as error:
        log.error("SMS and phone invitations are off: %s", error)
        return {}
    outbound = Outbound(TwilioGateway(settings), quiet, str(config["PUBLIC_BASE_URL"]))
    return {"sms": outbound.sms, "voice": outbound.voice}
