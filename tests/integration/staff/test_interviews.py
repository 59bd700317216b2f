"""Interview mode and the interviewer role, through the staff area with no JavaScript.

A worker signed in to the staff area sits with a participant and runs their survey on
the person's own pages; every answer says it was given in an interview and by whom (a
voice message too, stored on the interview channel), the long export carries both,
and the audit log has a line when it starts and when it finishes. An interviewer account
can do that and nothing else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.models import Answer, AuditEntry, Participant, Response, StaffRole, StaffUser
from tests.helpers import Browser
from web_survey.bootstrap import Services
from web_survey.security import RECORDING_BODY

from .conftest import PASSWORD, Staff
from .test_recordings import (
    OPEN_QUESTION,
    TO_THE_OPEN_QUESTION,
    make_wav,
    multipart,
    needs_ffmpeg,
    recordings,
)

INTERVIEW = "/staff/sites/CAL/participants/CAL-0001/interview"


def interview_browser(client: FlaskClient, url: str = INTERVIEW) -> Browser:
    """The survey pages, as the worker's tablet shows them at ``url``."""
    browser = Browser(client, "")
    browser.url = url
    return browser


def at_the_open_question(staff: Staff, worker: str) -> Browser:
    """``worker`` signed in, interviewing CAL-0003 (a professional), at the open question."""
    staff.sign_in(worker)
    url = "/staff/sites/CAL/participants/CAL-0003/interview"
    page = interview_browser(staff.client, url)
    page.page = staff.get(url).get_data(as_text=True)
    page.post(action="start")
    for label in TO_THE_OPEN_QUESTION:
        page.choose(label)
    return page


def answer_everything(page: Browser) -> Browser:
    """Answer each question as a person tapping would (the first answer that is not
    "Not sure", a few words in a box), then send the answers on the check page."""
    for _ in range(60):
        if 'value="submit"' in page.page:
            return page.post(action="submit")
        options = [(code, label) for code, label in page.options() if label != "Not sure"]
        if options:
            page.post(choice=options[0][0], action="continue")
        elif 'name="text"' in page.page:
            page.post(text="3" if 'inputmode="numeric"' in page.page else "It helps me.",
                      action="continue")
        else:
            return page
    raise AssertionError("the survey did not end")


def answers_of(nsw: Services, code: str) -> list[tuple[str, str, str]]:
    """(channel, mode, interviewer) of each stored answer of ``code``."""
    with nsw.uow() as uow:
        return [tuple(row) for row in uow.session.execute(
            select(Answer.channel, Answer.mode, Answer.interviewer)
            .join(Response, Answer.response_id == Response.id)
            .join(Participant, Response.participant_id == Participant.id)
            .where(Participant.code == code))]


def audit_lines(nsw: Services, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    with nsw.uow() as uow:
        return [(entry.actor, entry.action, entry.detail) for entry in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


@pytest.fixture
def people(make_participant: Callable[..., int], sites: dict[str, int]) -> dict[str, int]:
    """An individual at Calderdale (and one to answer alone), and one at Camden."""
    return {code: make_participant(code, "individual", site=code[:3],
                                   phone=f"+4477009000{number:02d}")
            for number, code in enumerate(("CAL-0001", "CAL-0002", "CAM-0001"), 1)}


@pytest.mark.parametrize("role", [StaffRole.LEAD, StaffRole.INTERVIEWER])
def test_a_worker_completes_an_interview_and_it_is_recorded_as_one(
        nsw: Services, staff: Staff, make_staff: Callable[..., str], people: dict[str, int],
        cli: Callable[..., Any], role: StaffRole) -> None:
    worker = make_staff(f"{role}@calderdale.example", "CAL", role=role)
    assert staff.sign_in(worker).status_code == 302

    start = staff.get(INTERVIEW)
    assert start.status_code == 200
    assert "Start the interview" in start.get_data(as_text=True)
    page = interview_browser(staff.client)
    page.page = start.get_data(as_text=True)
    page.post(action="start")
    # The person's own easy-read page, with the worker's bar above it.
    assert f"Interview with CAL-0001 by {worker}" in page.page
    assert 'class="listen' in page.page and 'name="choice"' in page.page
    answer_everything(page)
    assert page.status == 200 and 'class="panel"' in page.page  # the confirmation
    with nsw.uow() as uow:
        response = uow.repo.response(uow.repo.participant("CAL-0001"), "baseline")
        assert (response.status, response.channel) == ("completed", "interview")

    stored = answers_of(nsw, "CAL-0001")
    assert stored and set(stored) == {("interview", "interview", worker)}
    assert [(actor, action, detail["participant"], detail["stage"]) for actor, action, detail
            in audit_lines(nsw, "interview")] == [
        (worker, "interview", "CAL-0001", "started"),
        (worker, "interview", "CAL-0001", "finished")]

    # The same person's survey is finished: the interview page says so and runs nothing.
    again = staff.post(INTERVIEW, data={"action": "start"}, form_page=INTERVIEW)
    assert again.status_code == 409
    assert "has finished this timepoint" in again.get_data(as_text=True)
    assert len(audit_lines(nsw, "interview")) == 2

    # Someone answering alone on their own link: mode self, nobody conducting.
    with nsw.uow() as uow:
        token = uow.repo.add_invitation(uow.repo.participant("CAL-0002"), "baseline",
                                        "web").token
        uow.commit()
    alone = Browser(staff.client, token).open()
    for _ in range(2):  # consent (not stored as an answer), then the first question
        alone.post(choice=alone.options()[0][0], action="continue")
    assert set(answers_of(nsw, "CAL-0002")) == {("web", "self", "")}

    rows = list(csv.DictReader(io.StringIO(
        cli("export", "--site", "CAL", "--format", "long").stdout)))
    assert {(r["participant"], r["mode"], r["interviewer"]) for r in rows} == {
        ("CAL-0001", "interview", worker), ("CAL-0002", "self", "")}


def test_the_participant_page_links_to_the_interview(
        as_cal: Staff, people: dict[str, int]) -> None:
    page = as_cal.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    assert f'href="{INTERVIEW}"' in page


def test_an_interviewer_reaches_the_interviews_and_nothing_else(
        nsw: Services, staff: Staff, make_staff: Callable[..., str],
        people: dict[str, int]) -> None:
    staff.sign_in(make_staff("sam@calderdale.example", "CAL", role=StaffRole.INTERVIEWER))
    home = staff.get("/staff/")
    assert home.headers["Location"] == "/staff/sites/CAL/interviews"
    listing = staff.get("/staff/sites/CAL/interviews").get_data(as_text=True)
    assert "CAL-0001" in listing and INTERVIEW in listing
    assert "+4477" not in listing and "CAM-0001" not in listing
    # Only the interview pages in the menu.
    assert "/staff/sites/CAL/exports" not in listing
    for path in ("/staff/sites/CAL/", "/staff/sites/CAL/participants",
                 "/staff/sites/CAL/participants/CAL-0001", "/staff/sites/CAL/exports",
                 "/staff/sites/CAL/settings", "/staff/sites/CAL/audit",
                 "/staff/sites/CAL/invitations", "/staff/admin/staff"):
        assert staff.get(path).status_code == 403, path
    assert staff.post("/staff/sites/CAL/participants/CAL-0001/case-pack",
                      form_page="/staff/sites/CAL/interviews").status_code == 403
    for path in ("/staff/sites/CAM/interviews",
                 "/staff/sites/CAM/participants/CAM-0001/interview",
                 "/staff/sites/CAL/participants/CAM-0001/interview"):
        assert staff.get(path).status_code == 404, path


def test_staff_add_makes_an_interviewer_from_the_command_line(
        nsw: Services, cli: Callable[..., Any], sites: dict[str, int], staff: Staff) -> None:
    result = cli("staff", "add", "sam@calderdale.example", "--site", "CAL", "--role",
                 "interviewer", input=f"{PASSWORD}\n" * 2)
    assert "added interviewer sam@calderdale.example" in result.output
    cli("staff", "add", "boss@example.org", "--admin", input=f"{PASSWORD}\n" * 2)
    refused = cli("staff", "add", "x@example.org", "--role", "interviewer",
                  input=f"{PASSWORD}\n" * 2, expect=1)
    assert "say --site CODE" in refused.output
    with nsw.uow() as uow:
        made = {user.email: (user.role, user.is_admin)
                for user in uow.session.scalars(select(StaffUser))}
    assert made == {"sam@calderdale.example": ("interviewer", False),
                    "boss@example.org": ("admin", True)}
    staff.sign_in("sam@calderdale.example")
    assert staff.get("/staff/sites/CAL/exports").status_code == 403


def test_an_administrator_adds_an_interviewer_on_the_staff_page(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    staff.sign_in(make_staff("admin@example.org", admin=True))
    page = staff.get("/staff/admin/staff").get_data(as_text=True)
    assert 'value="interviewer"' in page
    added = staff.post("/staff/admin/staff", data={
        "email": "sam@calderdale.example", "site": "CAL", "role": "interviewer",
        "password": PASSWORD, "confirm": PASSWORD}, form_page="/staff/admin/staff")
    assert added.status_code == 302
    listing = staff.get("/staff/admin/staff").get_data(as_text=True)
    assert "<th scope=\"row\">sam@calderdale.example</th><td>CAL</td><td>Interviewer</td>" \
        in listing
    with nsw.uow() as uow:
        user = uow.session.scalar(select(StaffUser).where(
            StaffUser.email == "sam@calderdale.example"))
        assert user is not None and (user.role, user.is_admin) == ("interviewer", False)


def test_carrying_on_is_audited_as_resumed_and_an_opted_out_person_is_not_asked(
        nsw: Services, as_cal: Staff, people: dict[str, int]) -> None:
    page = interview_browser(as_cal.client)
    page.page = as_cal.get(INTERVIEW).get_data(as_text=True)
    page.post(action="start")
    page.post(choice=page.options()[0][0], action="continue")  # consent
    carry_on = as_cal.get(INTERVIEW).get_data(as_text=True)
    assert "Carry on the interview" in carry_on
    page.page = carry_on
    page.post(action="start")
    assert [detail["stage"] for _, _, detail in audit_lines(nsw, "interview")] == [
        "started", "resumed"]

    other = INTERVIEW.replace("CAL-0001", "CAL-0002")
    with nsw.uow() as uow:
        uow.repo.participant("CAL-0002").opted_out = True
        uow.commit()
    start = as_cal.get(other).get_data(as_text=True)
    assert "asked us to stop" in start and "Start the interview" not in start
    refused = as_cal.post(other, data={"action": "start"}, form_page=other)
    assert refused.status_code == 409
    assert answers_of(nsw, "CAL-0002") == []
    assert len(audit_lines(nsw, "interview")) == 2


def test_a_worker_adds_a_journal_entry_with_the_person_when_the_plan_has_entries(
        as_cal: Staff, nsw: Services, people: dict[str, int], cli: Callable[..., Any],
        tmp_path: Any) -> None:
    assert 'id="entries"' not in as_cal.get(INTERVIEW).get_data(as_text=True)
    plan = tmp_path / "plan.yaml"
    plan.write_text("timepoints:\n  - name: baseline\n  - name: exit\nentries:\n"
                    "  - name: journal\n    survey: individual\n"
                    "    label: {en: diary entry}\n", encoding="utf-8")
    cli("plan", "publish", str(plan), "--site", "CAL")
    page = as_cal.get(INTERVIEW).get_data(as_text=True)
    assert 'id="entries"' in page and "Add a diary entry" in page
    started = as_cal.post(INTERVIEW, {"entry": "journal"}, form_page=INTERVIEW)
    assert started.status_code == 200
    assert "Is it OK to ask you some questions?" in started.get_data(as_text=True)
    answered = interview_browser(as_cal.client)
    answered.page = started.get_data(as_text=True)
    yes = next(code for code, label in answered.options() if label == "Yes")
    answered.post(choice=yes, action="continue")
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(Response).where(Response.wave == "journal"))
        assert entry is not None and entry.occurrence == 1 and entry.consent_given
    assert all(mode == "interview" for _, mode, _ in answers_of(nsw, "CAL-0001"))


@needs_ffmpeg
def test_a_voice_message_sent_in_an_interview_is_stored_as_the_interviews(
        nsw: Services, staff: Staff, make_staff: Callable[..., str],
        make_participant: Callable[..., int], sites: dict[str, int]) -> None:
    make_participant("CAL-0003", "professional", phone=None, site="CAL")
    worker = make_staff("sam@calderdale.example", "CAL", role=StaffRole.INTERVIEWER)
    page = at_the_open_question(staff, worker)
    assert page.h1() == OPEN_QUESTION
    assert 'enctype="multipart/form-data"' in page.page and 'name="recording"' in page.page
    sound = make_wav()
    # Words typed beside it: refused kindly, the same question again, nothing kept.
    page.post(text="Fine", action="continue",
              recording=(io.BytesIO(sound), "voice-message.wav", "audio/wav"))
    assert (page.status, page.h1()) == (400, OPEN_QUESTION)
    assert "Please send your words or a voice message. Not both." in page.words()
    assert f"Interview with CAL-0003 by {worker}" in page.page
    # The 413 page's own path: the error summary leads to the file input there too.
    assert 'href="#recording"' in page.page
    assert recordings(nsw) == []
    page.post(text="", action="continue",
              recording=(io.BytesIO(sound), "voice-message.wav", "audio/wav"))
    assert page.status == 200 and page.h1() == "Check your answers."

    stored, = recordings(nsw)
    assert (stored.channel, stored.question_id) == ("interview", "comments")
    assert nsw.vault.decrypt_bytes(stored.audio) == sound
    with nsw.uow() as uow:
        answer = uow.session.execute(
            select(Answer.recording, Answer.channel, Answer.mode, Answer.interviewer)
            .where(Answer.question_id == "comments")).one()
    assert tuple(answer) == (f"rec:{stored.key}", "interview", "interview", worker)


def test_a_voice_message_too_big_to_read_gets_the_question_again_in_easy_words(
        nsw: Services, staff: Staff, make_staff: Callable[..., str],
        make_participant: Callable[..., int], sites: dict[str, int]) -> None:
    make_participant("CAL-0003", "professional", phone=None, site="CAL")
    make_staff("lead@camden.example", "CAM")
    worker = make_staff("sam@calderdale.example", "CAL", role=StaffRole.INTERVIEWER)
    page = at_the_open_question(staff, worker)
    # Refused from its declared length, before a byte is read: the same question
    # again, saying why and how big it may be, with the interview's own bar; still 413.
    refused = multipart(page, bytes(RECORDING_BODY + 1))
    assert refused.status_code == 413
    page._keep(refused)
    assert page.h1() == OPEN_QUESTION
    assert "The voice message is too big. The most is 10 MB." in page.words()
    assert f"Interview with CAL-0003 by {worker}" in page.page
    assert 'href="#recording"' in page.page  # the error summary leads to the file input
    assert recordings(nsw) == []
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Answer.id).where(
            Answer.question_id == "comments")) is None
    # Signed out, or another site's staff: the plain 413, which says nothing of the page.
    staff.client.post("/staff/sign-out", data={"csrf_token": page.field("csrf_token")})
    for who in ("", "lead@camden.example"):
        if who:
            staff.sign_in(who)
        plain = multipart(page, bytes(RECORDING_BODY + 1))
        assert plain.status_code == 413, who
        assert "CAL-0003" not in plain.get_data(as_text=True)
        assert OPEN_QUESTION not in plain.get_data(as_text=True)
