"""Texts, calls and WhatsApp through Twilio: the provider behind outreach's ``sms``,
``voice`` and ``whatsapp``.

A text invitation is the start of the conversation itself (the greeting and the consent
question, or "you are on question 3 of 7" for someone part-way through), so the person
answers by replying. A call invitation rings the person; when they pick up, Twilio
fetches ``/twilio/voice`` and the call survey begins. A WhatsApp invitation is the approved
template (``TWILIO_WHATSAPP_TEMPLATE_SID``) from ``TWILIO_WHATSAPP_FROM``: a business may
not open a WhatsApp chat with free text, so the person's reply starts the survey.

Who may be contacted, and what an invitation's status becomes, are outreach's rules
(``bot.service.outreach``): this module only speaks Twilio, and turns its errors into
outreach's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from twilio.base.exceptions import TwilioRestException

from bot.engine import messages
from bot.service.outreach import (
    Calls,
    OutreachError,
    PermanentFailure,
    Route,
    Templates,
    TemporaryFailure,
    Texts,
    Unsubscribed,
)

from .twilio_api import UNSUBSCRIBED, TwilioGateway, TwilioSettings

log = logging.getLogger(__name__)

PROVIDER = "twilio"
# Twilio errors that say this number cannot be reached this way, whatever we try again
# (https://www.twilio.com/docs/errors/NNNNN): at send, and in delivery reports.
PERMANENT = frozenset({
    21211,  # invalid 'To' phone number
    21214,  # 'To' phone number cannot be reached
    21217,  # phone number does not appear to be valid
    21612,  # cannot route to this number
    21614,  # 'To' number is not a valid mobile number
    30005,  # unknown destination handset
    30006,  # landline or unreachable carrier
})


def error_for(code: int | str | None, detail: str = "") -> OutreachError | None:
    """Outreach's meaning of a Twilio error code (None when there is no code)."""
    try:
        number = int(code or 0)
    except ValueError:
        number = 0
    if not number:
        return None
    detail = detail or f"error {number} (https://www.twilio.com/docs/errors/{number})"
    if number == UNSUBSCRIBED:
        return Unsubscribed(PROVIDER, str(number), detail)
    if number in PERMANENT:
        return PermanentFailure(PROVIDER, str(number), detail)
    return TemporaryFailure(PROVIDER, str(number), detail)


@contextmanager
def _translated() -> Iterator[None]:
    """Twilio's exceptions as outreach's. Twilio's message can quote the phone number,
    so only its code and HTTP status are kept."""
    try:
        yield
    except TwilioRestException as error:
        translated = error_for(error.code, f"HTTP {error.status}, error {error.code} "
                                           f"(https://www.twilio.com/docs/errors/{error.code})")
        raise (translated or TemporaryFailure(PROVIDER, "", f"HTTP {error.status}")) from None
    except OSError as error:
        raise TemporaryFailure(PROVIDER, "", f"could not reach Twilio: {error}") from None


class TwilioSender:
    """Sends texts and places calls for outreach (a ``TextSender`` and a ``Caller``)."""

    provider = PROVIDER

    def __init__(self, gateway: TwilioGateway, base_url: str) -> None:
        self.gateway = gateway
        self.base_url = base_url

    @property
    def status_callback(self) -> str:
        return f"{self.base_url}/twilio/status"

    def send_text(self, to: str, text: str) -> str:
        """Send one text; returns its MessageSid."""
        with _translated():
            return self.gateway.send_sms(to, text, self.status_callback)

    def call(self, to: str) -> str:
        """Ring ``to``; the call fetches ``/twilio/voice`` when answered. Returns its CallSid."""
        with _translated():
            return self.gateway.call(to, f"{self.base_url}/twilio/voice", self.status_callback)


# WhatsApp addresses are phone numbers with this prefix, both ways.
WHATSAPP_PREFIX = "whatsapp:"


def whatsapp_address(number: str) -> str:
    """``number`` as Twilio addresses it on WhatsApp ("whatsapp:+447...")."""
    return number if number.startswith(WHATSAPP_PREFIX) else f"{WHATSAPP_PREFIX}{number}"


class WhatsAppSender:
    """Sends the approved WhatsApp invitation for outreach (a ``TemplateSender``)."""

    provider = PROVIDER

    def __init__(self, gateway: TwilioGateway, base_url: str, from_: str,
                 template_sid: str) -> None:
        self.gateway = gateway
        self.base_url = base_url
        self.from_ = whatsapp_address(from_)
        self.template_sid = template_sid

    def send_template(self, to: str) -> str:
        """Send the template to ``to`` (a phone number); returns its MessageSid."""
        with _translated():
            return self.gateway.send_template(whatsapp_address(to), self.from_,
                                              self.template_sid,
                                              f"{self.base_url}/twilio/status")


def whatsapp_configured(config: Mapping[str, Any]) -> bool:
    """True when Twilio and its WhatsApp sender and template are set."""
    return configured(config) and bool(config.get("TWILIO_WHATSAPP_FROM")
                                       and config.get("TWILIO_WHATSAPP_TEMPLATE_SID"))


def configured(config: Mapping[str, Any]) -> bool:
    """True when Twilio's settings are there to send texts and calls."""
    return TwilioSettings.from_config(config).configured


def senders(config: Mapping[str, Any]) -> dict[str, Route]:
    """Outreach's ``sms`` and ``voice`` rows, and ``whatsapp`` when its sender and template
    are set; none when Twilio is not configured (the composition root says so, once)."""
    settings = TwilioSettings.from_config(config)
    if not settings.configured:
        return {}
    gateway = TwilioGateway(settings)
    base_url = str(config["PUBLIC_BASE_URL"])
    twilio = TwilioSender(gateway, base_url)
    # Texts and calls share the one number; WhatsApp has its own sender.
    number = settings.from_number
    rows: dict[str, Route] = {"sms": Texts(twilio, messages, line=number),
                              "voice": Calls(twilio, line=number)}
    if whatsapp_configured(config):
        whatsapp = WhatsAppSender(gateway, base_url, str(config["TWILIO_WHATSAPP_FROM"]),
                                  str(config["TWILIO_WHATSAPP_TEMPLATE_SID"]))
        rows["whatsapp"] = Templates(whatsapp, line=whatsapp.from_)
    return rows


def record_status(services: Any, provider_id: str, provider_status: str,
                  error_code: str = "") -> None:
    """Record Twilio's report on a text or call (``/twilio/status``) through outreach."""
    services.outreach.record_report(provider_id, provider_status, error_for(error_code))
