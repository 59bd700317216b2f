"""Helpers every test may use: what is stored, and a browser on a survey link.

Fixtures live in ``tests/conftest.py``; plain functions and classes live here, once.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from storage.models import Answer, Participant, Response


@dataclass(frozen=True)
class Stored:
    """One stored answer, read back after the request that wrote it."""

    participant: str  # the participant's code
    wave: str
    question_id: str
    status: str
    value_code: int | None
    text: str
    recording: str
    raw: str
    channel: str
    who_answered: str
    is_tryout: bool

    @property
    def value(self) -> object:
        """The code, else the words, the recording or the status ("skipped", ...)."""
        if self.value_code is not None:
            return self.value_code
        return self.text or self.recording or self.status


def stored_answers(nsw: Any, participant: int | str | None = None, *fields: str,
                   wave: str | None = None) -> Any:
    """What is stored, read in a fresh unit of work.

    With ``participant`` (an id or a code): that person's answers by question id,
    ``{question_id: Stored}``. Without: everyone's, ``{code: {question_id: Stored}}``.
    ``fields`` (names of ``Stored`` attributes) keep only those: a tuple of them, or
    the one value when one is named. ``wave`` keeps one wave's answers only.
    """
    query = (select(Answer, Response.wave, Participant.code, Participant.is_tryout)
             .join(Response, Answer.response_id == Response.id)
             .join(Participant, Response.participant_id == Participant.id))
    if isinstance(participant, int):
        query = query.where(Participant.id == participant)
    elif isinstance(participant, str):
        query = query.where(Participant.code == participant)
    if wave is not None:
        query = query.where(Response.wave == wave)
    found: dict[str, dict[str, Stored]] = {}
    with nsw.uow() as uow:
        for answer, answer_wave, code, tryout in uow.session.execute(query):
            row = Stored(code, answer_wave, answer.question_id, answer.status,
                         answer.value_code, answer.text or "", answer.recording or "",
                         answer.raw or "", answer.channel, answer.who_answered or "",
                         bool(tryout))
            found.setdefault(code, {})[answer.question_id] = _keep(row, fields)
    if participant is None:
        return found
    return next(iter(found.values()), {})


def _keep(row: Stored, fields: tuple[str, ...]) -> Any:
    if not fields:
        return row
    values = tuple(getattr(row, name) for name in fields)
    return values[0] if len(values) == 1 else values


class Browser:
    """A person's browser on one invitation link: posts carry the page's CSRF token and
    the question it showed, as the real form does."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.url = client, f"/s/{token}"
        self.page = ""
        self.status = 0

    def _keep(self, response: Any) -> Browser:
        self.page, self.status = response.get_data(as_text=True), response.status_code
        return self

    def open(self) -> Browser:
        return self._keep(self.client.get(self.url))

    def field(self, name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]*)"', self.page)
        return found.group(1) if found else ""

    def post(self, **form: str) -> Browser:
        data = {"csrf_token": self.field("csrf_token"), "question": self.field("question"),
                **form}
        return self._keep(self.client.post(self.url, data=data))

    def options(self) -> list[tuple[str, str]]:
        """The radios on the page: (value, label)."""
        return re.findall(r'name="choice" value="(\d+)"[^>]*>\s*<label[^>]*>.*?'
                          r'<span>([^<]+)</span>', self.page, re.S)

    def choose(self, label: str) -> Browser:
        """Pick the radio whose label is ``label`` and press Continue."""
        code = next(code for code, text in self.options() if text == label)
        return self.post(choice=code, action="continue")

    def h1(self) -> str:
        found = re.search(r"<h1>(?:<label[^>]*>)?([^<]+)<", self.page)
        return found.group(1) if found else ""

    def title(self) -> str:
        found = re.search(r"<title>([^<]*)</title>", self.page)
        return found.group(1) if found else ""

    def words(self) -> str:
        """The page's visible words: the body without tags, scripts or styles."""
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", self.page, flags=re.S)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
