"""Twilio's REST API through the real ``twilio`` client: texts, calls and recordings.

``TWILIO_API_BASE_URL`` points the client at a Twilio-compatible host (a test stand-in
or a regional proxy). The library has no setting for that, but it takes an HTTP client
of our choosing (the documented way to add proxies), so ours is the library's own
``TwilioHttpClient`` with every request's scheme and host swapped for the configured one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

log = logging.getLogger(__name__)
# The library logs every request's URL and headers at INFO: keep that out of the app log.
_http_log = logging.getLogger(f"{__name__}.http")
_http_log.setLevel(logging.WARNING)

TIMEOUT_SECONDS = 15
# Twilio error 21610: the person texted STOP to our number, so Twilio refuses to send.
UNSUBSCRIBED = 21610
RECORDING_FORMAT = ".mp3"


@dataclass(frozen=True)
class TwilioSettings:
    """The account, the number we send from, and where the API lives."""

    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TwilioSettings:
        return cls(str(config.get("TWILIO_ACCOUNT_SID") or ""),
                   str(config.get("TWILIO_AUTH_TOKEN") or ""),
                   str(config.get("TWILIO_FROM_NUMBER") or ""),
                   str(config.get("TWILIO_API_BASE_URL") or "").rstrip("/"))

    @property
    def configured(self) -> bool:
        """True when texts and calls can be sent and webhooks checked."""
        return bool(self.account_sid and self.auth_token and self.from_number)


class RebasedHttpClient(TwilioHttpClient):
    """The library's HTTP client, sending every request to ``base_url`` instead."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url)

    def rebase(self, url: str) -> str:
        """``url`` with the configured scheme and host (and any path prefix)."""
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, self.rebase(url), *args, **kwargs)


class RecordingUnavailable(RuntimeError):
    """A recording could not be fetched from Twilio; it is still there."""


class TwilioGateway:
    """Sends texts, places calls and collects recordings with the real client."""

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        options = {"timeout": TIMEOUT_SECONDS, "logger": _http_log}
        self.http = (RebasedHttpClient(settings.api_base_url, **options)
                     if settings.api_base_url else TwilioHttpClient(**options))
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self.http)

    def send_sms(self, to: str, body: str, status_callback: str) -> str:
        """Send one text; returns its MessageSid. Raises TwilioRestException."""
        message = self.client.messages.create(to=to, from_=self.settings.from_number,
                                              body=body, status_callback=status_callback)
        return str(message.sid)

    def send_template(self, to: str, from_: str, content_sid: str,
                      status_callback: str) -> str:
        """Send an approved template (``content_sid``) from ``from_`` (a WhatsApp sender,
        "whatsapp:+44..."); returns its MessageSid. Raises TwilioRestException."""
        message = self.client.messages.create(to=to, from_=from_, content_sid=content_sid,
                                              status_callback=status_callback)
        return str(message.sid)

    def call(self, to: str, url: str, status_callback: str) -> str:
        """Place a call that fetches its TwiML from ``url``; returns its CallSid."""
        call = self.client.calls.create(
            to=to, from_=self.settings.from_number, url=url, status_callback=status_callback,
            status_callback_event=["initiated", "ringing", "answered", "completed"])
        return str(call.sid)

    def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording Twilio holds (an erasure); one already gone counts.

        Raises RecordingUnavailable for an id that is not one, TwilioRestException or
        OSError when Twilio did not delete it.
        """
        if not recording_sid.isalnum():
            raise RecordingUnavailable(f"{recording_sid!r} is not a recording id")
        try:
            self.client.api.v2010.account.recordings(recording_sid).delete()
        except TwilioRestException as error:
            if error.status != 404:
                raise

    def fetch_recording(self, recording_sid: str) -> bytes:
        """A recording's sound (MP3), into memory: it is stored encrypted with its answer,
        never as a plain file. Twilio's copy stays until ``delete_recording``, called once
        the answer is stored, so a failure at any point loses nothing.
        """
        if not recording_sid.isalnum():
            raise RecordingUnavailable(f"{recording_sid!r} is not a recording id")
        media = self.client.api.v2010.absolute_url(
            f"Accounts/{self.settings.account_sid}/Recordings/{recording_sid}"
            f"{RECORDING_FORMAT}")
        if isinstance(self.http, RebasedHttpClient):
            media = self.http.rebase(media)
        # The library's client reads every body as text, which would spoil audio, so
        # the media comes through its session with the account's credentials.
        session = self.http.session
        assert session is not None, "TwilioHttpClient pools connections by default"
        try:
            answer = session.get(media, auth=self.client.auth, timeout=TIMEOUT_SECONDS)
        except OSError as error:
            raise RecordingUnavailable(f"{recording_sid}: {error}") from error
        if answer.status_code != 200 or not answer.content:
            raise RecordingUnavailable(f"{recording_sid}: HTTP {answer.status_code}")
        return bytes(answer.content)
