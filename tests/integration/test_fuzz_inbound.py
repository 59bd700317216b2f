"""Property-based fuzzing of what people send on every channel, with hypothesis.

Whatever arrives (emoji, right-to-left text, control characters, 10 KB bodies, bytes
that are not UTF-8), at any point of a conversation, the answer is never a server error
and always an easy-read reply: a text or a spoken prompt, or a web page, whose wording
is one the product would send anyway (a question, or a phrase from content/).
Each example starts a new person, so examples never depend on each other.
"""

from __future__ import annotations

import html
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bot.channel_table import CHANNELS
from bot.engine import RESPONDENT_TYPES, every_prompt, prompt_text
from content.loader import CHANNEL_PHRASES
from tests.conftest import PUBLIC_BASE_URL
from tests.inbound import INBOUND, NOT_UTF8, ONWARD, REPLIES
from web_survey.telegram_routes import SECRET_HEADER

from .telegram_standin import SECRET, TOKEN, Person, post_update
from .twilio_fakes import Call, sid, sign, snapshot, spoken, twilio_settings

pytestmark = pytest.mark.fault

FORM = "application/x-www-form-urlencoded"
CONTACT = "Please call the social care team on 0113 496 0000."
# Where the fuzzed text arrives: early (with commands and nonsense first), or at any
# question after consent, the open ones at the end included.
BEFORE = st.one_of(st.lists(REPLIES, max_size=4), ONWARD)


@pytest.fixture
def app_config(app_config, api):
    app_config.update(twilio_settings(), TELEGRAM_BOT_TOKEN=TOKEN,
                      TELEGRAM_API_BASE_URL=api.url, TELEGRAM_WEBHOOK_SECRET=SECRET)
    return app_config


@pytest.fixture(autouse=True)
def _close_the_bot(app) -> Iterator[None]:
    yield
    app.extensions["telegram"].close()


KINDS = st.sampled_from(RESPONDENT_TYPES)


@pytest.fixture
def person(make_participant) -> Callable[[str], tuple[int, str]]:
    """A new participant of a kind for each example: (id, phone number)."""
    numbers = itertools.count(1)

    def make(kind: str) -> tuple[int, str]:
        n = next(numbers)
        phone = f"+4477009{n:05d}"
        return make_participant(f"FUZ-{n:04d}", kind, phone), phone

    return make


@pytest.fixture
def easy_read(nsw) -> set[str]:
    """Every wording the product may send: each question and instruction on each
    channel, every phrase (filled in as the engine fills it), the channels' own."""
    texts = {nsw.surveys.phrase(phrase, "en") for phrase in CHANNEL_PHRASES}
    for survey in nsw.surveys:
        texts.add(survey.phrase("safeguarding", "en", contact=CONTACT).strip())
        texts.update(q.help["en"] for q in survey.questions if q.help)
        for row in CHANNELS.values():
            for prompt in every_prompt(survey, "en", row.capabilities):
                texts.update({prompt.text, prompt.instruction, prompt_text(prompt)})
    texts.discard("")
    # The apology for a failure is the product's wording too, but never a good reply.
    texts.discard(nsw.surveys.phrase("something_wrong", "en"))
    return texts


def as_read(body: bytes) -> dict[str, str]:
    """The form the app reads from ``body`` (what a genuine signature covers)."""
    environ = EnvironBuilder(method="POST", data=body, content_type=FORM).get_environ()
    return dict(Request(environ).form)


def post_raw(client: FlaskClient, path: str, body: bytes) -> Any:
    """POST ``body`` as it is, signed as Twilio signs the form the app will read."""
    signature = sign(PUBLIC_BASE_URL + path, as_read(body))
    return client.post(path, data=body, content_type=FORM,
                       headers={"X-Twilio-Signature": signature})


def xml_of(response: Any) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return ET.fromstring(response.get_data())


def sms_body(phone: str, message: str | bytes) -> bytes:
    """A Twilio SMS webhook body; bytes go in percent-encoded exactly as they are."""
    head = urlencode({"MessageSid": sid("SM"), "AccountSid": "AC" + "0" * 32,
                      "From": phone, "To": "+447700900999"})
    raw = message if isinstance(message, bytes) else message.encode()
    return f"{head}&Body={quote_from_bytes(raw)}".encode()


def assert_texted(response: Any, easy_read: set[str]) -> None:
    """A TwiML reply of one or more texts, each one the product's own wording."""
    texts = [m.text or "" for m in xml_of(response).findall("Message")]
    assert texts, "no text in the reply"
    unknown = set(texts) - easy_read
    assert not unknown, unknown


# ---------------------------------------------------------------- SMS


def text_conversation(client: FlaskClient, phone: str, before: list[str],
                      message: str | bytes) -> Any:
    for earlier in before:
        xml_of(post_raw(client, "/twilio/sms", sms_body(phone, earlier)))
    return post_raw(client, "/twilio/sms", sms_body(phone, message))


@given(kind=KINDS, before=BEFORE, message=INBOUND)
def test_any_text_gets_an_easy_read_text_back(client, person, easy_read, kind, before,
                                              message):
    _, phone = person(kind)
    assert_texted(text_conversation(client, phone, ["Hello", *before], message), easy_read)


@given(kind=KINDS, before=BEFORE, message=NOT_UTF8)
def test_a_text_that_is_not_utf8_gets_an_easy_read_text_back(client, person, easy_read,
                                                             kind, before, message):
    _, phone = person(kind)
    assert_texted(text_conversation(client, phone, ["Hello", *before], message), easy_read)


@given(message=NOT_UTF8)
def test_a_webhook_body_of_raw_bytes_is_refused_and_changes_nothing(client, nsw, person,
                                                                   message):
    """Twilio percent-encodes every form; raw bytes cannot carry a signature we can
    check, so the request is refused like any unsigned one."""
    _, phone = person("individual")
    body = sms_body(phone, b"").replace(b"&Body=", b"&Body=" + message)
    signed_as_meant = sign(PUBLIC_BASE_URL + "/twilio/sms",
                           as_read(sms_body(phone, message)))
    before = snapshot(nsw)
    response = client.post("/twilio/sms", data=body, content_type=FORM,
                           headers={"X-Twilio-Signature": signed_as_meant})
    assert response.status_code == 403
    assert snapshot(nsw) == before


# ---------------------------------------------------------------- voice


KEYS = st.text(st.sampled_from("0123456789*#"), max_size=12)


@given(kind=KINDS,
       before=st.one_of(st.lists(st.sampled_from("0123#*"), max_size=4),
                        ONWARD.map(lambda keys: ["1", *keys[1:]])),
       digits=st.one_of(KEYS, INBOUND), speech=st.one_of(st.just(""), INBOUND))
def test_any_keys_or_words_on_a_call_get_an_easy_read_prompt(client, person, easy_read,
                                                            kind, before, digits, speech):
    _, phone = person(kind)
    call = Call(client, phone=phone)
    call.start()
    for key in before:
        call.act(Digits=key)
        if call.root.find("Hangup") is not None:
            break
    else:
        call.root = xml_of(call.post(call.next_url(), Digits=digits, SpeechResult=speech))
    heard = spoken(call.root)
    assert heard, "nothing is said to the caller"
    unknown = set(heard) - easy_read
    assert not unknown, unknown


# ---------------------------------------------------------------- web


class Page:
    """One person's web survey, posted to as a browser would."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.url = client, f"/s/{token}"
        self.response = client.get(self.url)

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)

    def field(self, name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]*)"', self.html)
        return found.group(1) if found else ""

    def post(self, body: bytes) -> Page:
        self.response = self.client.post(self.url, data=body, content_type=FORM)
        return self

    def form(self, **fields: str) -> bytes:
        """The page's hidden fields (unless given) and ``fields``, urlencoded."""
        hidden = {"csrf_token": self.field("csrf_token"), "question": self.field("question")}
        return urlencode({**hidden, **fields}).encode()

    def heading(self) -> str:
        found = re.search(r"<h1>(?:<label[^>]*>)?(.*?)(?:</label>)?</h1>", self.html, re.S)
        return html.unescape(found.group(1)) if found else ""


@pytest.fixture
def web_page(client, nsw, person) -> Callable[[str], Page]:
    def open_page(kind: str) -> Page:
        participant_id, _ = person(kind)
        with nsw.uow() as uow:
            invitation = uow.repo.add_invitation(uow.repo.participant_by_id(participant_id),
                                                 "baseline", "web")
            uow.commit()
            token = invitation.token
        return Page(client, token)

    return open_page


def assert_page(page: Page, easy_read: set[str]) -> None:
    """A page in the person's language whose heading is the product's own wording:
    the question, the answers to check, or why the survey cannot go on (410)."""
    assert page.response.status_code in (200, 400, 410), page.html[:500]
    assert re.search(r'<html lang="en" dir="ltr">', page.html)
    heading = page.heading()
    known = heading in easy_read
    assert known, heading[:200]


WEB_FIELDS = st.fixed_dictionaries({}, optional={
    "action": st.one_of(st.sampled_from(["continue", "back", "skip", "submit", "pictures"]),
                        INBOUND),
    "choice": st.one_of(st.sampled_from(["1", "2", "3", "9", "0", "-1", "1e9"]), INBOUND),
    "text": INBOUND,
    "question": st.one_of(st.sampled_from(["consent", "who", "know_sw", "role"]), INBOUND),
    "change": INBOUND,
})


@given(kind=KINDS,
       before=ONWARD.map(lambda keys: ["1", *[k.replace("0", "9") for k in keys[1:]]]),
       fields=WEB_FIELDS)
def test_any_web_form_gets_an_easy_read_page(web_page, easy_read, kind, before, fields):
    page = web_page(kind)
    for choice in before:
        page.post(page.form(choice=choice, action="continue"))
    assert_page(page.post(page.form(**fields)), easy_read)


@given(kind=KINDS, message=NOT_UTF8, encoded=st.booleans())
def test_web_form_bytes_that_are_not_utf8_get_an_easy_read_page(web_page, easy_read, kind,
                                                                message, encoded):
    page = web_page(kind)
    page.post(page.form(choice="1", action="continue"))
    raw = quote_from_bytes(message).encode() if encoded else message
    assert_page(page.post(page.form(action="continue") + b"&text=" + raw), easy_read)


# ---------------------------------------------------------------- Telegram


@pytest.fixture
def chat(client, nsw, person, api) -> Callable[[str], Person]:
    """A new participant of a kind, linked to a new chat by their invitation link."""
    chats = itertools.count(700_001)

    def deliver(update: dict[str, Any]) -> None:
        response = post_update(client, update)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    def open_chat(kind: str) -> Person:
        participant_id, _ = person(kind)
        with nsw.uow() as uow:
            token = uow.repo.add_invitation(uow.repo.participant_by_id(participant_id),
                                            "baseline", "telegram").token
            uow.commit()
        someone = Person(api, deliver, next(chats))
        someone.type(f"/start {token}")
        return someone

    return open_chat


@given(kind=KINDS, before=BEFORE, message=INBOUND)
def test_any_telegram_message_gets_an_easy_read_reply(chat, easy_read, kind, before,
                                                      message):
    someone = chat(kind)
    for earlier in before:
        someone.type(earlier)
    seen = len(someone.seen())
    someone.type(message)
    replies = [sent.text for sent in someone.seen()[seen:]]
    assert replies, "the bot said nothing"
    unknown = set(replies) - easy_read
    assert not unknown, unknown


@given(message=NOT_UTF8)
def test_a_telegram_update_that_is_not_utf8_is_refused_and_changes_nothing(
        client, nsw, chat, message):
    chat("individual")
    before = snapshot(nsw)
    body = b'{"update_id": 9, "message": {"message_id": 1, "date": 0, "text": "' + message
    response = client.post("/telegram/webhook", data=body + b'", "chat": {"id": 1}}}',
                           content_type="application/json",
                           headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert snapshot(nsw) == before
