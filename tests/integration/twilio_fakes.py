"""Test helpers for the Twilio channels: signed webhooks and a stand-in REST API.

Webhooks are signed with the real ``twilio.request_validator.RequestValidator``. The
stand-in is a small threaded HTTP server on loopback that answers the few REST calls
the product makes (messages, calls, recordings) the way Twilio documents them; the real
``twilio`` client reaches it through ``TWILIO_API_BASE_URL``.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from storage.models import Base
from tests.conftest import PUBLIC_BASE_URL

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+447700900999"
PHONE = "+447700900001"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4


def twilio_settings(api_base_url: str = "") -> dict[str, str]:
    """The configuration that turns the Twilio channels on."""
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": api_base_url}


WHATSAPP_FROM = "whatsapp:+447700900998"
TEMPLATE_SID = "HX" + "0" * 31 + "1"


def whatsapp_settings(api_base_url: str = "") -> dict[str, str]:
    """The configuration that turns WhatsApp on (Twilio's, plus a sender and template)."""
    return {**twilio_settings(api_base_url), "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
            "TWILIO_WHATSAPP_TEMPLATE_SID": TEMPLATE_SID}


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for ``form`` posted to ``url``."""
    return RequestValidator(token).compute_signature(url, form)


def post_signed(client: FlaskClient, path: str, form: dict[str, str],
                signature: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """POST ``form`` to ``path`` signed for ``PUBLIC_BASE_URL + path`` (or ``signature``)."""
    if signature is None:
        signature = sign(PUBLIC_BASE_URL + path, form)
    return client.post(path, data=form,
                       headers={"X-Twilio-Signature": signature, **(headers or {})})


def twiml(response: Any) -> ET.Element:
    """The TwiML of a webhook's answer, parsed as XML."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.get_data())


def messages(root: ET.Element) -> list[str]:
    """The texts of a MessagingResponse."""
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def spoken(root: ET.Element) -> list[str]:
    """Everything a caller hears from ``<Say>``, in order (nested prosody included)."""
    return ["".join(say.itertext()) for say in root.iter("Say")]


class Call:
    """One phone call, as Twilio would make its requests."""

    def __init__(self, client, phone=PHONE, outbound=False):
        self.client = client
        self.sid = sid("CA")
        self.base = {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32,
                     "From": FROM_NUMBER if outbound else phone,
                     "To": phone if outbound else FROM_NUMBER,
                     "Direction": "outbound-api" if outbound else "inbound"}
        self.root = None

    def start(self):
        self.root = twiml(post_signed(self.client, "/twilio/voice", dict(self.base)))
        return self.root

    def next_url(self):
        """Where Twilio posts what the caller does: the Gather's or Record's action."""
        waiting = self.root.find("Gather")
        if waiting is None:
            waiting = self.root.find("Record")
        assert waiting is not None, "no question is waiting"
        return waiting.get("action")

    def post(self, url, **form):
        assert url.startswith(PUBLIC_BASE_URL)
        return post_signed(self.client, url[len(PUBLIC_BASE_URL):], {**self.base, **form})

    def act(self, **form):
        """Press keys, speak (SpeechResult) or send a recording."""
        self.root = twiml(self.post(self.next_url(), **form))
        return self.root

    def wait(self):
        """Say nothing: Twilio falls through the Gather to the Redirect."""
        redirect = self.root.find("Redirect")
        assert redirect is not None
        self.root = twiml(self.post(redirect.text))
        return self.root


_sids = itertools.count(1)


def sid(prefix: str) -> str:
    """A new Twilio-style id such as ``SM000...0007``."""
    return f"{prefix}{next(_sids):032d}"


@dataclass
class StandIn:
    """A loopback stand-in for Twilio's REST API, recording every request."""

    unsubscribed: set[str] = field(default_factory=set)
    # Numbers Twilio refuses as invalid (error 21211), for texts and calls alike.
    invalid: set[str] = field(default_factory=set)
    # Seconds each message or call takes to be accepted (a slow provider, so a test can
    # stop a sender part-way through a batch).
    delay: float = 0.0
    recordings: dict[str, bytes] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def sent(self, kind: str) -> list[dict[str, str]]:
        """The forms POSTed to ``Messages`` or ``Calls``."""
        return [r["form"] for r in self.requests
                if r["method"] == "POST" and r["path"].endswith(f"/{kind}.json")]

    def deleted(self) -> list[str]:
        return [r["path"].rsplit("/", 1)[1].split(".")[0] for r in self.requests
                if r["method"] == "DELETE"]

    def start(self) -> ThreadingHTTPServer:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def _reply(self, status: int, body: bytes = b"",
                       content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: dict[str, Any]) -> None:
                self._reply(status, json.dumps(data).encode())

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                path = urlsplit(self.path).path
                stand_in.requests.append({"method": method, "path": path, "form": form})
                expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._json(401, {"code": 20003, "message": "Authenticate",
                                     "status": 401})
                    return
                prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}/"
                if not path.startswith(prefix):
                    self._json(404, {"code": 20404, "message": "Not found", "status": 404})
                    return
                resource = path[len(prefix):]
                if method == "POST" and resource in ("Messages.json", "Calls.json"):
                    if resource == "Messages.json" and not (form.get("Body")
                                                            or form.get("ContentSid")):
                        self._json(400, {"code": 21619, "status": 400, "message":
                                         "A text message body or media urls must be "
                                         "specified"})
                        return
                    if stand_in.delay:
                        time.sleep(stand_in.delay)
                    if form.get("To", "").removeprefix("whatsapp:") in stand_in.invalid:
                        self._json(400, {"code": 21211, "status": 400, "message":
                                         "The 'To' number is not a valid phone number."})
                        return
                    if form.get("To", "").removeprefix("whatsapp:") in stand_in.unsubscribed:
                        self._json(400, {"code": 21610, "status": 400, "message":
                                         "Attempt to send to unsubscribed recipient"})
                        return
                    kind = "SM" if resource == "Messages.json" else "CA"
                    self._json(201, {"sid": sid(kind), "account_sid": ACCOUNT_SID,
                                     "status": "queued", "to": form.get("To"),
                                     "from": form.get("From")})
                    return
                name = resource.removeprefix("Recordings/")
                recording = name.split(".")[0]
                if method == "GET" and name.endswith(".mp3") and recording in stand_in.recordings:
                    self._reply(200, stand_in.recordings[recording], "audio/mpeg")
                    return
                if method == "DELETE" and name.endswith(".json") \
                        and recording in stand_in.recordings:
                    del stand_in.recordings[recording]
                    self._reply(204)
                    return
                self._json(404, {"code": 20404, "message": "Not found", "status": 404})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return server


def snapshot(nsw: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show a refused request changed nothing."""
    with nsw.engine.connect() as connection:
        return {table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
                for table in Base.metadata.sorted_tables}
