"""Interview mode: a worker sits with a participant and the survey runs on the staff
area's tablet, one question per screen.

The pages are the person's own web pages (``survey_views.render_reply`` and the
``survey/`` templates: pictures, Listen buttons, big answers); this module only
translates. A form post becomes one engine event (``survey_views.form_event``, or a
recording event when a voice message was sent, as on the person's own link) and goes
through ``Conversations.interview``, which records the worker beside every answer and
writes the audit lines. Interviewers (``StaffRole.INTERVIEWER``) may use these pages
and no others.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.engine import Event, EventKind
from bot.service import Audio, RecordingRefused, recording_event
from storage.models import Participant, Response, Site
from storage.timeline import site_progress
from storage.uow import UnitOfWork

from ..bootstrap import services
from ..recording_upload import sent_recording
from ..security import takes_recordings
from ..survey_views import form_event, render_reply, switch_pictures, visit_of
from . import bp
from .access import interview_page, me, participant_of
from .forms import TYPE_NAMES
from .participants import Column, progress


@dataclass(frozen=True)
class InterviewBar:
    """What the staff bar on each interview screen says: whose interview, by whom, and
    the way back to the staff pages."""

    code: str
    worker: str
    leave_url: str


def _key(participant_id: int) -> str:
    """Where the interview's page choices (pictures off) are kept in the worker's session."""
    return f"interview-{participant_id}"


@bp.get("/sites/<site_code>/interviews")
@interview_page
def interviews(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """The site's participants by code, where each stands now, and a way to interview
    them. No contact details: interviewers see this page."""
    found = site_progress(uow.session, site.id, own_only=True)
    # Where each stands at their timepoint now, worded as on the participants list.
    where = {person.id: progress(Column(person.current_wave, ""), person,
                                 found.at(person, person.current_wave))
             for person in found.people}
    return render_template("staff/interviews.html", site=site, people=found.people,
                           where=where, type_names=TYPE_NAMES)


def _question_again(uow: UnitOfWork, site: Site, code: str, phrase: str,
                    status: int = 400) -> ResponseReturnValue:
    """The interview's question again, saying in easy words (``phrase``) why a voice
    message was not taken: 400 for one the view read and refused, 413 (``too_big``'s
    page) for a request too big to reach the view."""
    person = participant_of(uow, site, code)
    person_id, person_code = person.id, person.code
    uow.rollback()
    return _step(uow, site, person_id, person_code, Event(EventKind.AGAIN), None, phrase,
                 status)


# The 413 handler calls this with the view's own arguments, outside the view.
_ask_again = interview_page(_question_again)


@bp.route("/sites/<site_code>/participants/<code>/interview", methods=["GET", "POST"])
@takes_recordings(_ask_again)
@interview_page
def interview(uow: UnitOfWork, site: Site, code: str) -> ResponseReturnValue:
    """GET: the page to start (or carry on) the interview. POST: one step of it (an
    answer, or a voice message recorded or chosen for an open question); the reply is
    shown on the person's own survey page."""
    person = participant_of(uow, site, code)
    person_id, person_code = person.id, person.code
    if request.method == "GET":
        return _start_page(uow, site, person)
    # The interview's turn is a transaction of its own: end this read first.
    uow.rollback()
    action = request.form.get("action", "")
    if action == "pictures":
        switch_pictures(_key(person_id))
    audio: Audio | None = None
    if request.form.get("action", "continue") == "continue" and "entry" not in request.form:
        try:
            audio = sent_recording(request.form.get("text", ""))
        except RecordingRefused as refused:
            # The same question again, saying why, as on the person's own link.
            return _question_again(uow, site, code, refused.phrase)
    event = (Event(EventKind.START) if action == "start"
             else Event(EventKind.ENTRY, request.form["entry"]) if "entry" in request.form
             else recording_event(request.form.get("question", "")) if audio is not None
             else form_event(request.form))
    return _step(uow, site, person_id, person_code, event, audio)


def _step(uow: UnitOfWork, site: Site, person_id: int, person_code: str, event: Event,
          audio: Audio | None, refused: str = "", status: int = 200) -> ResponseReturnValue:
    """Run ``event`` (with ``audio``, a recording) in the interview and show the reply;
    ``refused`` is the phrase saying why a recording sent with the post was not taken."""
    opened = services().conversations.interview(person_id, me().email, event, audio)
    if opened.problem:
        return _start_page(uow, site, participant_of(uow, site, person_code),
                           problem=opened.problem), 409
    assert opened.reply is not None
    bar = InterviewBar(person_code, me().email,
                       url_for("staff.interview", site_code=site.code, code=person_code))
    visit = visit_of(_key(person_id), opened)
    return render_reply(visit, opened.reply, status=status, refused=refused, interview=bar)


def _start_page(uow: UnitOfWork, site: Site, person: Participant, problem: str = "") -> str:
    """Who the interview is with, the timepoint it is for, and the button to start it."""
    status = uow.session.scalar(select(Response.status).where(
        Response.participant_id == person.id, Response.wave == person.current_wave,
        Response.occurrence == person.current_occurrence, Response.about_id.is_(None)))
    plan = services().conversations.catalogue.plan(uow.session, site.id)
    if person.opted_out:  # as the service would answer: nothing is asked of them
        problem = "opted_out"
    return render_template("staff/interview.html", site=site, person=person,
                           status=problem or status or "", type_names=TYPE_NAMES,
                           entries=plan.entries)
