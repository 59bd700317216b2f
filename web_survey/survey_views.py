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

from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from bot.engine import CONSENT, FINISHED_STATUSES, Event, Prompt, Survey, localise
from bot.service import Reply, UnknownParticipant
from content.audio import find_audio

from .bootstrap import services

bp = Blueprint("survey", __name__)

# Scripts written right to left; the page gets dir="rtl" for these languages.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi"})
EASY_READ_TYPES = ("individual", "family")


@dataclass(frozen=True)
class Visit:
    """The person behind a working invitation link, and how their pages should look."""

    token: str
    participant_id: int
    survey: Survey
    language: str
    needs: tuple[str, ...]
    easy_read: bool

    @property
    def pictures_switchable(self) -> bool:
        """Pictures are offered: easy read (or asked for), unless the needs say no."""
        wanted = self.easy_read or "pictures" in self.needs
        return wanted and "no-pictures" not in self.needs

    @property
    def pictures(self) -> bool:
        """Pictures beside answers now: offered, and not switched off on the page."""
        return self.pictures_switchable and not session.get(_pictures_key(self.token))

    @property
    def audio(self) -> bool:
        """A play button beside each prompt: easy read, unless audio is not wanted."""
        return self.easy_read and "no-audio" not in self.needs

    def phrase(self, phrase_id: str, **values: object) -> str:
        return self.survey.phrase(phrase_id, self.language, **values)


class LinkProblem(Exception):
    """A link that cannot open a survey, with the kind page to show instead."""

    def __init__(self, status: int, heading: str, lines: tuple[str, ...],
                 language: str = "en", survey: Survey | None = None) -> None:
        super().__init__(heading)
        self.status, self.heading, self.lines = status, heading, lines
        self.language, self.survey = language, survey


def _pictures_key(token: str) -> str:
    return f"no-pictures:{token}"


def _unknown_link() -> LinkProblem:
    """No such invitation. Any survey holds the shared phrases to say so."""
    shared = next(iter(services().surveys))
    return LinkProblem(404, shared.phrase("web_link_unknown", "en"),
                       (shared.phrase("web_link_unknown_help", "en"),))


def _visit(token: str) -> Visit:
    """The person ``token`` invites, or a LinkProblem saying why the link cannot work."""
    nsw = services()
    with nsw.uow() as uow:
        invitation = uow.repo.invitation(token)
        if invitation is None or invitation.channel == "telegram":  # a deep link's token
            raise _unknown_link()
        person = invitation.participant
        language, contact = person.language, person.site.contact_text
        response = uow.repo.response(person, person.current_wave)
        survey = (nsw.surveys.get(response.survey_id) if response is not None
                  else nsw.surveys.for_respondent(person.respondent_type))
        if invitation.wave != person.current_wave:
            raise LinkProblem(410, survey.phrase("web_link_old", language),
                              (survey.phrase("web_link_old_help", language), contact), language,
                              survey)
        status = "opted_out" if person.opted_out else getattr(response, "status", "")
        if status in FINISHED_STATUSES:
            raise LinkProblem(410, survey.phrase("web_finished", language),
                              (survey.phrase(f"already_{status}", language), contact), language,
                              survey)
        needs = tuple(person.need_list)
        return Visit(token, person.id, survey, language, needs,
                     person.respondent_type in EASY_READ_TYPES or "easy-read" in needs)


def _event(form: MultiDict[str, str]) -> Event:
    """The engine event a posted form stands for."""
    question = form.get("question", "")
    action = form.get("action", "continue")
    if "change" in form:
        return Event("change", form["change"])
    if action in ("back", "submit"):
        return Event(action)
    if action == "skip":
        return Event("skip", question=question)
    if action == "pictures":
        return Event("again")
    if "text" in form:
        return Event("text", form["text"], question=question)
    # Radios send nothing when none is chosen: an empty answer the engine re-asks.
    return Event("button", form.get("choice", ""), question=question)


@bp.route("/s/<token>", methods=["GET", "POST"])
def survey(token: str) -> ResponseReturnValue:
    """Show the current question (GET), or take one step and show the next (POST)."""
    visit = _visit(token)
    if request.method == "GET":
        return _page(visit, _handle(visit, Event("start")))
    if request.form.get("action") == "pictures":
        key = _pictures_key(token)
        session[key] = not session.get(key)
    return _page(visit, _handle(visit, _event(request.form)))


def _handle(visit: Visit, event: Event) -> Reply:
    try:
        return services().conversations.handle(visit.participant_id, "web", event)
    except UnknownParticipant:  # erased between opening the link and answering
        raise _unknown_link() from None


@bp.errorhandler(LinkProblem)
def _link_problem(problem: LinkProblem) -> ResponseReturnValue:
    return (_message(problem.language, problem.heading, problem.lines, problem.survey),
            problem.status)


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError) -> ResponseReturnValue:
    """A post without a valid form token: show the current question again, kindly."""
    try:
        visit = _visit((request.view_args or {}).get("token", ""))
        reply = _handle(visit, Event("again"))
    except LinkProblem as problem:  # an error handler's own errors are not handled
        return _link_problem(problem)
    return _page(visit, reply, visit.phrase("web_try_again"), status=400)


def _audio_src(visit: Visit, text: str, language: str) -> str:
    """The URL of the prompt's rendered audio, or "" (the page then offers speech)."""
    found = find_audio(Path(current_app.config["AUDIO_DIR"]), text, language)
    return f"{request.script_root}/audio/{language}/{found.name}" if found else ""


def _page(visit: Visit, reply: Reply, note: str = "", status: int = 200) -> ResponseReturnValue:
    """One page for the engine's reply: a question, the check-your-answers list, or the end."""
    current = next((p for p in reversed(reply.prompts) if p.kind in ("ask", "review")), None)
    said = [p for p in reply.prompts if p.kind == "say"]
    if current is None:
        heading = visit.phrase("web_sent" if reply.status == "completed" else "web_finished")
        lines = tuple(p.text for p in said)
        return _message(visit.language, heading, lines, visit.survey, visit,
                        confirmed=reply.status == "completed"), status
    # The error summary carries the engine's re-ask message; do not repeat it as a note.
    notes = [p for p in said if p.text != current.error]
    if note:
        notes.insert(0, Prompt("say", note, visit.language))
    template = "survey/review.html" if current.kind == "review" else "survey/question.html"
    return render_template(
        template, prompt=current, notes=notes, visit=visit, t=visit.phrase,
        lang=current.language, consent=CONSENT, audio_src=_audio_src,
        title=localise(visit.survey.title, visit.language),
    ), status


def _message(language: str, heading: str, lines: tuple[str, ...],
             survey: Survey | None = None, visit: Visit | None = None,
             confirmed: bool = False) -> str:
    """A page with a heading and a few lines: the confirmation, or a link problem."""
    title = localise(survey.title, language) if survey is not None else ""
    return render_template("survey/message.html", heading=heading,
                           lines=[line for line in lines if line], lang=language, title=title,
                           visit=visit, confirmed=confirmed, audio_src=_audio_src)


@bp.app_template_global()
def text_direction(language: str) -> str:
    """``rtl`` for languages written right to left, else ``ltr``."""
    return "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr"
