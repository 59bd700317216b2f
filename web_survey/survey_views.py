"""The web survey behind an invitation link: ``GET/POST /s/<token>``.

The view only translates. Opening the link is the engine's "start"; a form post becomes
one engine event (an answer, back, skip, change or submit); the prompts the engine
returns become one page. Which question comes next, what an answer means and every
word on the page come from the engine and ``content/`` (phrases.yaml holds the web's
button words), so the web asks exactly what a phone call or a text would.

The page a post returns is rendered straight from the engine's reply, so its notes
("We will skip that one") show once; opening the link again resumes where the person
left off, because every answer was stored when they pressed Continue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from bot.channel_table import ChannelName
from bot.engine import CONSENT, Event, EventKind, Need, Prompt, Survey, localise
from bot.service import (
    Audio,
    LinkVisit,
    RecordingRefused,
    Reply,
    UnknownInvitation,
    UnknownParticipant,
    recording_event,
)
from bot.service.recordings import MAX_RECORDING_MB
from content.audio import find_audio

from .bootstrap import services
from .recording_upload import sent_recording
from .security import takes_recordings

bp = Blueprint("survey", __name__)

# Scripts written right to left; the page gets dir="rtl" for these languages.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi"})
EASY_READ_TYPES = ("individual", "family")
CHANNEL = ChannelName.WEB
SHIPPED_PICTURES = Path(__file__).parent / "static" / "pictures"
# A picture a survey names: a plain file name with an image extension, nothing else.
_PICTURE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,80}\.(svg|png|jpe?g|webp)")


@dataclass(frozen=True)
class Visit:
    """The person behind a working invitation link, and how their pages should look."""

    token: str
    participant_id: int
    survey: Survey
    language: str
    needs: tuple[str, ...]
    easy_read: bool
    entries: tuple[tuple[str, str], ...] = ()  # entries the person may add: name, label

    @property
    def pictures_switchable(self) -> bool:
        """Pictures are offered: easy read (or asked for), unless the needs say no."""
        wanted = self.easy_read or Need.PICTURES in self.needs
        return wanted and Need.NO_PICTURES not in self.needs

    @property
    def pictures(self) -> bool:
        """Pictures beside answers now: offered, and not switched off on the page."""
        return self.pictures_switchable and not session.get(_pictures_key(self.token))

    @property
    def audio(self) -> bool:
        """Listen buttons: easy read or audio first, unless audio is not wanted."""
        wanted = self.easy_read or Need.AUDIO_FIRST in self.needs
        return wanted and Need.NO_AUDIO not in self.needs

    @property
    def audio_first(self) -> bool:
        """The Listen button comes first on the page, and biggest."""
        return self.audio and Need.AUDIO_FIRST in self.needs

    @property
    def large_print(self) -> bool:
        """Bigger text, buttons and pictures."""
        return Need.LARGE_PRINT in self.needs

    @property
    def page_classes(self) -> str:
        """The body's classes: how this person's pages look."""
        return " ".join(name for name, wanted in (
            ("easy", self.easy_read), ("large", self.large_print),
            ("audio-first", self.audio_first)) if wanted)

    def phrase(self, phrase_id: str, **values: object) -> str:
        return self.survey.phrase(phrase_id, self.language, **values)


class LinkProblem(Exception):
    """A link that cannot open a survey, with the kind page to show instead."""

    def __init__(self, status: int, heading: str, lines: tuple[str, ...],
                 language: str = "en", survey: Survey | None = None,
                 visit: Visit | None = None) -> None:
        super().__init__(heading)
        self.status, self.heading, self.lines = status, heading, lines
        self.language, self.survey, self.visit = language, survey, visit


def _pictures_key(token: str) -> str:
    return f"no-pictures:{token}"


def _unknown_link() -> LinkProblem:
    """No such invitation. Any survey holds the shared phrases to say so."""
    shared = services().surveys
    return LinkProblem(404, shared.phrase("web_link_unknown", "en"),
                       (shared.phrase("web_link_unknown_help", "en"),))


def _open(token: str, event: Event, audio: Audio | None = None) -> tuple[Visit, Reply]:
    """Run ``event`` (with ``audio``, a recording) for the person ``token`` invites (one
    transaction in the service), or raise a LinkProblem saying why the link cannot work."""
    try:
        opened = services().conversations.open_link(token, CHANNEL, event, audio)
    except (UnknownInvitation, UnknownParticipant):  # erased after the link was made
        raise _unknown_link() from None
    survey, language = opened.survey, opened.language
    # The link's pages offer the entries the person may add (an interview's do not).
    visit = replace(visit_of(token, opened), entries=opened.entries)
    if opened.problem == "old":
        raise LinkProblem(410, survey.phrase("web_link_old", language),
                          (survey.phrase("web_link_old_help", language), opened.contact_text),
                          language, survey)
    if opened.problem:
        # A finished survey's page still offers the entries the person may add.
        raise LinkProblem(410, survey.phrase("web_finished", language),
                          (survey.phrase(f"already_{opened.problem}", language),
                           opened.contact_text), language, survey, visit)
    assert opened.reply is not None
    return visit, opened.reply


def visit_of(key: str, opened: LinkVisit) -> Visit:
    """How ``opened``'s person sees their pages. ``key`` keeps their page choices (such
    as pictures off) apart from anyone else's: the link's token, or an interview's."""
    return Visit(key, opened.participant_id, opened.survey, opened.language, opened.needs,
                 opened.respondent_type in EASY_READ_TYPES or Need.EASY_READ in opened.needs)


def switch_pictures(key: str) -> None:
    """The pictures switch was pressed on ``key``'s pages: turn them off, or back on."""
    session[_pictures_key(key)] = not session.get(_pictures_key(key))


def form_event(form: MultiDict[str, str]) -> Event:
    """The engine event a posted form stands for."""
    question = form.get("question", "")
    action = form.get("action", "continue")
    if "change" in form:
        return Event(EventKind.CHANGE, form["change"])
    if action in ("back", "submit"):
        return Event(EventKind(action))
    if action == "skip":
        return Event(EventKind.SKIP, question=question)
    if action == "pictures":
        return Event(EventKind.AGAIN)
    if "text" in form:
        return Event(EventKind.TEXT, form["text"], question=question)
    # Radios send nothing when none is chosen: an empty answer the engine re-asks.
    return Event(EventKind.BUTTON, form.get("choice", ""), question=question)


def _ask_again(token: str, phrase: str, status: int = 400) -> ResponseReturnValue:
    """The current question again, saying in easy words (``phrase``) why its recording
    was not taken; ``status`` 413 when the request was too big to read at all."""
    try:
        visit, reply = _open(token, Event(EventKind.AGAIN))
    except LinkProblem as problem:
        if status != 413:
            raise
        # From the 413 page, whose own errors are not handled: still 413, since what
        # was refused is the size, whatever the link.
        return _message(problem.language, problem.heading, problem.lines, problem.survey), 413
    return render_reply(visit, reply, refused=phrase, status=status)


@bp.route("/s/<token>", methods=["GET", "POST"])
@takes_recordings(_ask_again)
def survey(token: str) -> ResponseReturnValue:
    """Show the current question (GET), or take one step and show the next (POST)."""
    if request.method == "GET":
        return render_reply(*_open(token, Event(EventKind.START)))
    if request.form.get("action") == "pictures":
        switch_pictures(token)
    elif request.form.get("action", "continue") == "continue":
        try:
            audio = sent_recording(request.form.get("text", ""))
        except RecordingRefused as refused:
            return _ask_again(token, refused.phrase)
        if audio is not None:
            return render_reply(*_open(
                token, recording_event(request.form.get("question", "")), audio))
    return render_reply(*_open(token, form_event(request.form)))


@bp.route("/s/<token>/entry", methods=["POST"])
def entry(token: str) -> ResponseReturnValue:
    """Start a journal or story entry (the form's ``entry``), then show its first
    question at the link's own address."""
    _open(token, Event(EventKind.ENTRY, request.form.get("entry", "")))
    return redirect(url_for(".survey", token=token), code=303)


@bp.errorhandler(LinkProblem)
def _link_problem(problem: LinkProblem) -> ResponseReturnValue:
    return (_message(problem.language, problem.heading, problem.lines, problem.survey,
                     problem.visit), problem.status)


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError) -> ResponseReturnValue:
    """A post without a valid form token: show the current question again, kindly."""
    try:
        visit, reply = _open((request.view_args or {}).get("token", ""),
                             Event(EventKind.AGAIN))
    except LinkProblem as problem:  # an error handler's own errors are not handled
        return _link_problem(problem)
    return render_reply(visit, reply, visit.phrase("web_try_again"), status=400)


def _audio_src(visit: Visit, text: str, language: str) -> str:
    """The URL of the prompt's rendered audio (slow first for slow speech), or "" (the
    page then offers the browser's speech)."""
    folder = Path(current_app.config["AUDIO_DIR"])
    speeds = ("slow", "normal") if Need.SLOW_SPEECH in visit.needs else ("normal",)
    found = next(filter(None, (find_audio(folder, text, language, speed) for speed in speeds)),
                 None)
    return f"{request.script_root}/audio/{language}/{found.name}" if found else ""


@dataclass(frozen=True)
class Sound:
    """What one Listen button plays, in order: each text with its audio URL ("" where
    none is rendered: the browser's speech reads it, where it has a voice)."""

    parts: tuple[tuple[str, str], ...]

    @property
    def href(self) -> str:
        """The first rendered file: the plain link that works with no JavaScript."""
        return next((src for _, src in self.parts if src), "")

    @property
    def data(self) -> str:
        """The parts for speak.js, as JSON."""
        return json.dumps([{"text": text, "src": src} for text, src in self.parts],
                          ensure_ascii=False)


def _sound(visit: Visit, texts: Iterable[str], language: str) -> Sound:
    return Sound(tuple((text, _audio_src(visit, text, language)) for text in texts if text))


def _prompt_texts(prompt: Prompt) -> list[str]:
    """What the big Listen button reads: the question, each answer, then the help (on
    check-your-answers: the heading, then each question with its answer)."""
    if prompt.review:
        return [prompt.text, *(text for _, question, answer in prompt.review
                               for text in (question, answer))]
    return [prompt.text, *(choice.label for choice in prompt.choices), prompt.help]


@bp.get("/pictures/<filename>")
def picture(filename: str) -> ResponseReturnValue:
    """A survey's picture: the site's own (PICTURES_DIR) first, else the shipped one."""
    if _PICTURE.fullmatch(filename) is None:
        abort(404)
    site_folder = current_app.config.get("PICTURES_DIR") or ""
    folder = (Path(site_folder) if site_folder and (Path(site_folder) / filename).is_file()
              else SHIPPED_PICTURES)
    response = send_from_directory(folder, filename, max_age=24 * 3600)
    # An SVG opened on its own must not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def _picture_url(name: str) -> str:
    return url_for("survey.picture", filename=name)


def render_reply(visit: Visit, reply: Reply, note: str = "", status: int = 200,
                 refused: str = "", **context: object) -> ResponseReturnValue:
    """One page for the engine's reply: a question, the check-your-answers list, or the
    end. ``refused`` is the phrase saying why a recording sent for the question was not
    taken; ``context`` reaches the templates (``interview``: the staff area's interview)."""
    recording_error = visit.phrase(refused, most=MAX_RECORDING_MB) if refused else ""
    current = next((p for p in reversed(reply.prompts) if p.kind in ("ask", "review")), None)
    said = [p for p in reply.prompts if p.kind == "say"]
    if current is None:
        heading = visit.phrase("web_sent" if reply.status == "completed" else "web_finished")
        lines = tuple(p.text for p in said)
        return _message(visit.language, heading, lines, visit.survey, visit,
                        confirmed=reply.status == "completed", **context), status
    # The error summary carries the engine's re-ask message; do not repeat it as a note.
    notes = [p for p in said if p.text != current.error]
    if note:
        notes.insert(0, Prompt("say", note, visit.language))
    template = "survey/review.html" if current.kind == "review" else "survey/question.html"
    return render_template(
        template, prompt=current, notes=notes, visit=visit, t=visit.phrase,
        lang=current.language, consent=CONSENT, sound=_sound, prompt_texts=_prompt_texts,
        picture_url=_picture_url, title=localise(visit.survey.title, visit.language),
        recording_error=recording_error, **context), status


def _message(language: str, heading: str, lines: tuple[str, ...],
             survey: Survey | None = None, visit: Visit | None = None,
             confirmed: bool = False, **context: object) -> str:
    """A page with a heading and a few lines: the confirmation, or a link problem."""
    title = localise(survey.title, language) if survey is not None else ""
    return render_template("survey/message.html", heading=heading,
                           lines=[line for line in lines if line], lang=language, title=title,
                           visit=visit, confirmed=confirmed, sound=_sound, **context)


@bp.app_template_global()
def text_direction(language: str) -> str:
    """``rtl`` for languages written right to left, else ``ltr``."""
    return "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr"
