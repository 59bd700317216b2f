"""One driver per channel: the contract's steps sent through that adapter's real transport.

Each driver turns a step of a script (``Begin``, ``Choose``, ``Number``, ``Words``,
``Nonsense``, ``Submit``, ``OptOut``, ``OptIn``, ``Retry``) into what a person on that
channel does — a signed Twilio form, a Telegram update, a web form with its CSRF token,
a line typed into ``nsw-feedback chat`` — and returns a ``Turn``: whether the transport
took it (HTTP 200, or the command carrying on) and the words the person got back.

A driver says what its channel has (``provider_ids``, ``opt_out``, ``review``); a step
the channel has no way to send gives ``None``. Adding a channel is one class here and
one entry in ``DRIVERS``.
"""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from flask.testing import FlaskClient

from bot.engine import Option, Survey
from tests.conftest import PUBLIC_BASE_URL
from tests.helpers import Browser
from tests.integration.telegram_standin import SECRET, TOKEN, Person, post_update
from tests.integration.twilio_fakes import (
    FROM_NUMBER,
    PHONE,
    messages,
    post_signed,
    sid,
    spoken,
    twilio_settings,
)

CODE = "CAL-0001"
CHAT_ID = 555001

# ---------------------------------------------------------------- the steps of a script


@dataclass(frozen=True)
class Begin:
    """First contact: a text, a call, /start with the link, opening the link or the chat."""


@dataclass(frozen=True)
class Choose:
    """Pick answer ``code`` of ``question`` ("consent" for consent), in the channel's terms."""

    question: str
    code: int


@dataclass(frozen=True)
class Number:
    question: str
    value: int


@dataclass(frozen=True)
class Words:
    """An open answer, typed or spoken."""

    question: str
    text: str


@dataclass(frozen=True)
class Nonsense:
    """Something the engine cannot read as an answer to ``question``."""

    question: str


@dataclass(frozen=True)
class Submit:
    """Send the answers from a check-your-answers step (channels with one)."""


@dataclass(frozen=True)
class OptOut:
    """STOP, /stop: the person asks us to stop."""


@dataclass(frozen=True)
class OptIn:
    """START, /start: the person asks to take part again."""


@dataclass(frozen=True)
class Retry:
    """The provider delivers the last message again, with the same id."""


Step = Begin | Choose | Number | Words | Nonsense | Submit | OptOut | OptIn | Retry


@dataclass
class Turn:
    """What one step got back through the transport."""

    ok: bool  # HTTP 200, or the terminal carried on
    texts: list[str] = field(default_factory=list)  # what the person reads or hears
    answer: bytes = b""  # the transport's own answer: TwiML, a page, a webhook's body

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


# ---------------------------------------------------------------- drivers


class Driver:
    """One channel, through its real transport, for participant ``CODE``."""

    name: ClassVar[str]
    stored_as: ClassVar[str]  # the channel its answers and responses record
    provider_ids: ClassVar[bool] = False  # a provider retries with the same message id
    retry_resends: ClassVar[bool] = True  # a retry's answer carries the reply again
    opt_out: ClassVar[bool] = False  # STOP/START or their like
    review: ClassVar[bool] = False  # a check-your-answers step before the answers go

    def __init__(self, request: pytest.FixtureRequest, nsw: Any, client: FlaskClient,
                 survey: Survey) -> None:
        self.request, self.nsw, self.client, self.survey = request, nsw, client, survey
        self.participant_id = 0

    @classmethod
    def settings(cls, request: pytest.FixtureRequest) -> dict[str, Any]:
        """The app configuration that turns this channel on."""
        return {}

    def enrol(self, make_participant: Callable[..., int]) -> int:
        """Add the participant as this channel knows them (a phone, a link)."""
        self.participant_id = make_participant(CODE, phone=None)
        return self.participant_id

    def talk(self, steps: Sequence[Step]) -> list[Turn | None]:
        """Send each step; ``None`` for a step this channel has no way to send."""
        return [self.send(step) for step in steps]

    def send(self, step: Step) -> Turn | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the driver started."""

    # -- what every channel's terms are made from

    def options(self, question: str) -> tuple[Option, ...]:
        if question == "consent":
            return self.survey.yes_no
        return next(q for q in self.survey.questions if q.id == question).options

    def option(self, step: Choose) -> Option:
        return next(o for o in self.options(step.question) if o.code == step.code)

    def question_type(self, question: str) -> str:
        if question == "consent":
            return "yes_no"
        return next(q for q in self.survey.questions if q.id == question).type

    def invitation(self, channel: str) -> str:
        with self.nsw.uow() as uow:
            person = uow.repo.participant_by_id(self.participant_id)
            token: str = uow.repo.add_invitation(person, person.current_wave, channel).token
            uow.commit()
        return token


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "ten"]


class Sms(Driver):
    """Signed Twilio SMS webhooks: the person types words ("no", "happy", "four")."""

    name = "sms"
    stored_as = "sms"
    provider_ids = True
    opt_out = True

    @classmethod
    def settings(cls, request: pytest.FixtureRequest) -> dict[str, Any]:
        return twilio_settings()

    def enrol(self, make_participant: Callable[..., int]) -> int:
        self.participant_id = make_participant(CODE, phone=PHONE)
        return self.participant_id

    def body(self, step: Step) -> str | None:
        match step:
            case Begin():
                return "Hello"
            case Choose():
                return self.option(step).label["en"].lower()
            case Number():
                return NUMBER_WORDS[step.value]
            case Words():
                return step.text
            case Nonsense():
                return "banana"
            case OptOut():
                return "STOP"
            case OptIn():
                return "START"
        return None

    def send(self, step: Step) -> Turn | None:
        if isinstance(step, Retry):
            return self._post(self.last)
        body = self.body(step)
        if body is None:
            return None
        self.last = {"MessageSid": sid("SM"), "AccountSid": "AC" + "0" * 32,
                     "From": self.address, "To": self.ours, "Body": body}
        return self._post(self.last)

    path: ClassVar[str] = "/twilio/sms"
    address: ClassVar[str] = PHONE  # the person's From, as Twilio posts it
    ours: ClassVar[str] = FROM_NUMBER  # our To

    def _post(self, form: dict[str, str]) -> Turn:
        response = post_signed(self.client, self.path, form)
        ok = response.status_code == 200
        texts = messages(ET.fromstring(response.get_data())) if ok else []
        return Turn(ok, texts, response.get_data())


class WhatsApp(Sms):
    """Signed Twilio WhatsApp webhooks: the SMS form, from "whatsapp:+44..."."""

    name = "whatsapp"
    stored_as = "whatsapp"
    path = "/twilio/whatsapp"
    address = f"whatsapp:{PHONE}"
    ours = f"whatsapp:{FROM_NUMBER}"


class Voice(Driver):
    """A signed Twilio call: /twilio/voice, then each /twilio/voice/turn the TwiML names.
    The caller presses keys, keys then # for a number, and speaks an open answer."""

    name = "voice"
    stored_as = "voice"
    provider_ids = True

    @classmethod
    def settings(cls, request: pytest.FixtureRequest) -> dict[str, Any]:
        return twilio_settings()

    def enrol(self, make_participant: Callable[..., int]) -> int:
        self.participant_id = make_participant(CODE, phone=PHONE)
        self.call = {"CallSid": sid("CA"), "AccountSid": "AC" + "0" * 32, "From": PHONE,
                     "To": FROM_NUMBER, "Direction": "inbound"}
        self.root: ET.Element | None = None
        return self.participant_id

    def form(self, step: Step) -> dict[str, str] | None:
        match step:
            case Choose():
                return {"Digits": self.option(step).key}
            case Number():
                return {"Digits": str(step.value)}  # Twilio leaves out the closing #
            case Words():
                return {"SpeechResult": step.text, "Confidence": "0.9"}
            case Nonsense() if self.question_type(step.question) in ("number", "open"):
                return {"SpeechResult": "banana", "Confidence": "0.9"}
            case Nonsense():
                return {"Digits": "7"}  # no answer has that key
        return None

    def send(self, step: Step) -> Turn | None:
        if isinstance(step, Begin):
            return self._post("/twilio/voice", {})
        if isinstance(step, Retry):
            return self._post(*self.last)
        form = self.form(step)
        if form is None:
            return None
        assert self.root is not None, "the call has not started"
        waiting = self.root.find("Gather")
        if waiting is None:
            waiting = self.root.find("Record")
        assert waiting is not None, "no question is waiting"
        return self._post(waiting.get("action", "")[len(PUBLIC_BASE_URL):], form)

    def _post(self, path: str, form: dict[str, str]) -> Turn:
        self.last = (path, form)
        response = post_signed(self.client, path, {**self.call, **form})
        if response.status_code != 200:
            return Turn(False, [], response.get_data())
        self.root = ET.fromstring(response.get_data())
        return Turn(True, spoken(self.root), response.get_data())


class Telegram(Driver):
    """Telegram updates POSTed to /telegram/webhook with the secret header; the bot
    answers through the Bot API stand-in. The person presses the buttons and types."""

    name = "telegram"
    stored_as = "telegram"
    provider_ids = True
    # The bot has sent its reply through the Bot API already; a retried update must
    # not send it twice.
    retry_resends = False
    opt_out = True

    @classmethod
    def settings(cls, request: pytest.FixtureRequest) -> dict[str, Any]:
        api = request.getfixturevalue("api")
        return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url,
                "TELEGRAM_WEBHOOK_SECRET": SECRET}

    def enrol(self, make_participant: Callable[..., int]) -> int:
        super().enrol(make_participant)
        self.token = self.invitation("telegram")
        self.api = self.request.getfixturevalue("api")
        self.person = Person(self.api, self._deliver, CHAT_ID)
        self.response: Any = None
        return self.participant_id

    def _deliver(self, update: dict[str, Any]) -> None:
        self.response = post_update(self.client, update)

    def send(self, step: Step) -> Turn | None:
        before = len(self.person.seen())
        match step:
            case Begin():
                self.person.type(f"/start {self.token}")
            case Choose():
                label = self.option(step).label["en"]
                latest = next(s for s in reversed(self.person.seen()) if s.keyboard)
                button = next(b for b in latest.buttons if b == label or b.endswith(f" {label}"))
                self.person.press(button)
            case Number():
                self.person.type(str(step.value))
            case Words():
                self.person.type(step.text)
            case Nonsense():
                self.person.type("banana")
            case OptOut():
                self.person.type("/stop")
            case OptIn():
                self.person.type("/start")
            case Retry():
                self.person.deliver(self.person.last_update)
            case _:
                return None
        return Turn(self.response.status_code == 200,
                    [s.text for s in self.person.seen()[before:]], self.response.get_data())

    def close(self) -> None:
        self.client.application.extensions["telegram"].close()


class Web(Driver):
    """The web survey at /s/<token>: pages opened, forms posted with their CSRF token.
    The person picks radios and types into the boxes, then sends from "Check your
    answers"."""

    name = "web"
    stored_as = "web"
    review = True

    def enrol(self, make_participant: Callable[..., int]) -> int:
        super().enrol(make_participant)
        self.browser = Browser(self.client, self.invitation("web"))
        return self.participant_id

    def send(self, step: Step) -> Turn | None:
        page = self.browser
        match step:
            case Begin():
                page.open()
            case Choose():
                label = self.option(step).label["en"]
                page.post(choice=next(v for v, text in page.options() if text == label),
                          action="continue")
            case Number():
                page.post(text=str(step.value), action="continue")
            case Words():
                page.post(text=step.text, action="continue")
            case Nonsense() if self.question_type(step.question) in ("number", "open"):
                page.post(text="banana", action="continue")
            case Nonsense():
                page.post(choice="77", action="continue")  # a radio no page shows
            case Submit():
                page.post(action="submit")
            case _:
                return None
        return Turn(page.status == 200, [page.words()], page.page.encode())


class Terminal(Driver):
    """``nsw-feedback chat --participant CODE`` with the lines on stdin, through the
    in-process CliRunner. Every ``talk`` is one session: the opening it prints is the
    reply to ``Begin`` (when the script starts with one). Keys are typed ("1", "2")."""

    name = "terminal"
    stored_as = "chat"
    # The terminal reads STOP as a text would, but a session for someone opted out
    # ends at its opening, before START can be typed: no opt-out round trip here.
    opt_out = False

    def line(self, step: Step) -> str | None:
        match step:
            case Choose():
                return self.option(step).key
            case Number():
                return str(step.value)
            case Words():
                return step.text
            case Nonsense():
                return "banana"
            case OptOut():
                return "STOP"
            case OptIn():
                return "START"
        return None

    def talk(self, steps: Sequence[Step]) -> list[Turn | None]:
        lines = [None if isinstance(step, Begin) else self.line(step) for step in steps]
        stdin = _MarkedLines([line for line in lines if line is not None])
        cli = self.request.getfixturevalue("cli")
        result = cli("chat", "--survey", self.survey.id, "--participant", CODE,
                     input=stdin)
        # The output before each read of stdin answers the line read before it.
        parts = result.stdout.split(_MARK)
        opening, replies = parts[0], iter(parts[1:])
        turns: list[Turn | None] = []
        for step, line in zip(steps, lines, strict=True):
            if isinstance(step, Begin):
                turns.append(_terminal_turn(opening))
            elif line is None:
                turns.append(None)
            else:
                turns.append(_terminal_turn(next(replies)))
        return turns


_MARK = "\x1e\n"  # written to stdout each time the command reads a line


def _terminal_turn(output: str) -> Turn:
    texts = [block.strip() for block in output.split("\n\n") if block.strip()]
    return Turn(True, texts, output.encode())


class _MarkedLines(io.RawIOBase):
    """stdin that hands over one line a read, marking in stdout where each read began."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [f"{line}\n".encode() for line in lines]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(buffer) == 0:
            return 0
        sys.stdout.write(_MARK)
        sys.stdout.flush()
        if not self.lines:
            return 0
        line = self.lines.pop(0)
        assert len(line) <= len(buffer), "a line longer than a read"
        buffer[:len(line)] = line
        return len(line)


DRIVERS: list[type[Driver]] = [Sms, WhatsApp, Voice, Telegram, Web, Terminal]
