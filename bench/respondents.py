"""Simulated SMS respondents: what each person texts, and what must be stored for them.

Each person's texts are chosen as the conversation goes, by playing it once through the
pure engine, as one careful delivery of every text would. The answers that replay
records are the oracle: after any amount of load, retries and duplicates, the database
must hold exactly these for each person. The SMS benchmark and the fault tests share
this, so both send the same realistic conversations.
"""

from __future__ import annotations

import hashlib
import http.client
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from bot.engine import CONSENT, Event, Prompt, Survey, advance, begin
from content.loader import SurveyLibrary
from storage.models import Participant, Site
from storage.uow import UnitOfWork

# Stored answer as the tests compare it: question id -> (value code, typed words).
Answers = dict[str, tuple[int | None, str]]
# Open answers, each made personal by the person's code so a mix-up between two
# people shows in their stored words.
OPEN_ANSWERS = ("More time outside", "She listens to me", "I want to see my mum more",
                "Nothing, it is fine", "Help with money")
WAVE = "baseline"
CHANNEL = "sms"
SMS_PATH = "/twilio/sms"


@dataclass(frozen=True)
class Respondent:
    """One simulated person: their code and number, their texts, their stored answers."""

    code: str
    respondent_type: str
    phone: str
    texts: tuple[str, ...]
    answers: Answers

    def message_sid(self, index: int) -> str:
        """The MessageSid of text ``index``: the same on every delivery of that text."""
        digest = hashlib.sha256(f"{self.code}:{index}".encode()).hexdigest()
        return "SM" + digest[:32]


def _reply(rng: random.Random, question: Prompt, code: str) -> str:
    """What a person might text back to ``question``: a key, a word or an emoji."""
    if not question.choices:
        return f"{rng.choice(OPEN_ANSWERS)} ({code})"
    choice = rng.choice(question.choices)
    return rng.choice([c for c in (choice.key, choice.label, choice.emoji) if c])


def _conversation(survey: Survey, code: str, rng: random.Random,
                  max_texts: int | None) -> tuple[list[str], Answers]:
    """Texts from "Hello" to the end of ``survey`` (or ``max_texts`` of them), and the
    answers they record."""
    progress = begin(survey, WAVE, "en", CHANNEL)
    texts: list[str] = ["Hello"]
    answers: Answers = {}
    while True:
        step = advance(survey, progress, Event("text", texts[-1]))
        progress = step.progress
        for recorded in step.recorded:
            answers[recorded.question_id] = (recorded.code, recorded.text)
        for question_id in step.withdrawn:
            answers.pop(question_id, None)
        question = next((p for p in reversed(step.prompts) if p.kind == "ask"), None)
        if question is None or len(texts) == max_texts:
            return texts, answers
        # Consent is given, so the conversation goes on to the questions.
        texts.append("yes" if question.question_id == CONSENT else
                     _reply(rng, question, code))


def respondents(surveys: SurveyLibrary, count: int, seed: int = 8,
                types: Sequence[str] = ("individual", "family", "professional"),
                max_texts: int | None = None,
                first_phone: int = 447700900000) -> list[Respondent]:
    """``count`` people of ``types`` in turn, each with a whole survey's conversation
    (or its first ``max_texts`` texts)."""
    rng = random.Random(seed)
    people = []
    for n in range(count):
        respondent_type = types[n % len(types)]
        code = f"LOAD-{n:05d}"
        texts, answers = _conversation(surveys.for_respondent(respondent_type), code, rng,
                                       max_texts)
        people.append(Respondent(code, respondent_type, f"+{first_phone + n}", tuple(texts),
                                 answers))
    return people


def enrol(uow_factory: Callable[[], UnitOfWork], people: Iterable[Respondent],
          site_code: str = "LOAD") -> None:
    """Add a site and ``people`` to it, each with their phone number, in one commit."""
    with uow_factory() as uow:
        site = Site(code=site_code, name="Load test site",
                    contact_text="Please call the social care team on 0113 496 0000.")
        uow.session.add(site)
        for person in people:
            participant = Participant(site=site, code=person.code,
                                      respondent_type=person.respondent_type,
                                      preferred_channel=CHANNEL)
            uow.session.add(participant)
            uow.repo.set_contact(participant, "phone", person.phone)
        uow.commit()


@dataclass(frozen=True)
class SignedText:
    """One text as Twilio would post it to the SMS webhook, signed."""

    form: dict[str, str]
    signature: str


def signed_text(person: Respondent, index: int, url: str, auth_token: str) -> SignedText:
    """Text ``index`` of ``person``, signed for ``url`` with the account's ``auth_token``."""
    form = {"MessageSid": person.message_sid(index), "AccountSid": "AC" + "0" * 32,
            "From": person.phone, "To": "+447700900999", "Body": person.texts[index]}
    return SignedText(form, RequestValidator(auth_token).compute_signature(url, form))


def deliver(base_url: str, text: SignedText, timeout: float = 30) -> tuple[int, bytes]:
    """POST ``text`` to ``base_url``'s SMS webhook as Twilio would: (status, body).

    A connection cut before the answer (a worker killed mid-request) raises OSError or
    http.client.HTTPException, as Twilio would see it.
    """
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=timeout)
    try:
        connection.request("POST", SMS_PATH, body=urlencode(text.form), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": text.signature})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()
