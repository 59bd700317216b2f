"""Linked respondents (a professional answering about people) and recurring pulses."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.engine import Event
from bot.service import Sender
from storage.models import Answer, Invitation, Participant, Response

from .test_site_plans import plan_file

PRO_PHONE = "+447700900055"


def slots(nsw, code: str) -> list[tuple[str, int, str, str]]:
    """The person's responses: timepoint, pulse, whom about (code or "") and status."""
    with nsw.uow() as uow:
        about = Participant.__table__.alias("about")
        rows = uow.session.execute(
            select(Response.wave, Response.occurrence, about.c.code, Response.status)
            .join(Participant, Participant.id == Response.participant_id)
            .outerjoin(about, about.c.id == Response.about_id)
            .where(Participant.code == code)
            .order_by(Response.wave, Response.occurrence, about.c.code))
        return [(w, n, c or "", s) for w, n, c, s in rows]


def test_a_professional_about_two_people_answers_about_each_in_turn(cli, nsw,
                                                                    make_participant):
    make_participant(code="CAL-0001", phone=None)
    make_participant(code="CAL-0002", phone=None)
    cli("participant", "add", "--site", "CAL", "--code", "CAL-P01", "--type",
        "professional", "--phone", PRO_PHONE, "--channel", "sms",
        "--about", "CAL-0002", "--about", "cal-0001")
    made = cli("invite", "--site", "CAL", "--participant", "CAL-P01", "--wave", "baseline",
               "--channel", "web").output
    assert made.count("CAL-P01") == 2  # one invitation about each person
    with nsw.uow() as uow:
        assert sorted(i.about.code for i in uow.session.scalars(select(Invitation))) == [
            "CAL-0001", "CAL-0002"]

    pro = Sender("phone", PRO_PHONE)
    first = nsw.conversations.handle(pro, "sms", Event("text", "hello"))
    assert "These questions are about CAL-0001." in [p.text for p in first.prompts]
    # A "no" finishes the answers about the first person; those about the next begin.
    after = nsw.conversations.handle(pro, "sms", Event("text", "no"))
    texts = [p.text for p in after.prompts]
    assert "These questions are about CAL-0002." in texts
    assert after.question.question_id == "consent"
    nsw.conversations.handle(pro, "sms", Event("text", "yes"))
    nsw.conversations.handle(pro, "sms", Event("text", "1"))
    assert slots(nsw, "CAL-P01") == [("baseline", 0, "CAL-0001", "declined"),
                                     ("baseline", 0, "CAL-0002", "started")]
    with nsw.uow() as uow:
        about = uow.session.scalar(
            select(Participant.code).join(Response, Response.about_id == Participant.id)
            .join(Answer, Answer.response_id == Response.id).where(Answer.question_id == "role"))
    assert about == "CAL-0002"


def test_only_family_or_professionals_answer_about_someone_at_their_own_site(
        cli, make_participant):
    make_participant(code="CAL-0001", phone=None)
    make_participant(code="NOT-0001", site="NOT", phone=None)
    refused = cli("participant", "add", "--site", "CAL", "--code", "CAL-0009", "--type",
                  "individual", "--about", "CAL-0001", expect=1)
    assert "only a family member or professional" in refused.output
    refused = cli("participant", "add", "--site", "CAL", "--code", "CAL-F01", "--type",
                  "family", "--about", "NOT-0001", expect=1)
    assert "NOT-0001 is not a participant of CAL" in refused.output


def test_erasing_a_person_removes_what_others_said_about_them(cli, nsw, make_participant):
    make_participant(code="CAL-0001", phone=None)
    cli("participant", "add", "--site", "CAL", "--code", "CAL-F01", "--type", "family",
        "--phone", PRO_PHONE, "--about", "CAL-0001")
    nsw.conversations.handle(Sender("phone", PRO_PHONE), "sms", Event("text", "hi"))
    nsw.conversations.handle(Sender("phone", PRO_PHONE), "sms", Event("text", "yes"))
    assert slots(nsw, "CAL-F01") == [("baseline", 0, "CAL-0001", "started")]
    cli("participant", "erase", "CAL-0001", "--yes")
    assert slots(nsw, "CAL-F01") == []


def test_a_weekly_pulse_opens_a_new_response_each_time(cli, nsw, make_participant,
                                                       tmp_path: Path):
    pid = make_participant(code="CAL-0001")
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline}
  - {name: weekly, every_days: 7}
  - {name: exit}
""")), "--site", "CAL")
    for _ in range(2):
        cli("invite", "--site", "CAL", "--wave", "weekly", "--channel", "web")
        nsw.conversations.handle(pid, "sms", Event("start"))
        nsw.conversations.handle(pid, "sms", Event("text", "no"))
    assert slots(nsw, "CAL-0001") == [("weekly", 1, "", "declined"),
                                      ("weekly", 2, "", "declined")]


def test_pulses_fall_due_every_so_many_days_for_the_types_the_timepoint_asks(
        cli, nsw, make_participant, tmp_path: Path):
    from datetime import timedelta

    from storage.models import utcnow
    from web_survey.sending import make_due_invitations

    make_participant(code="CAL-0001", phone=None)
    make_participant(code="CAL-P01", respondent_type="professional", phone=None)
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline}
  - {name: weekly, every_days: 7, surveys: {professional: professional}}
  - {name: exit}
""")), "--site", "CAL")

    def round_at(moment) -> list[tuple[str, int]]:
        with nsw.uow() as uow:
            sent = make_due_invitations(nsw, uow, uow.repo.site("CAL"), moment)
            return [(i.participant.code, i.occurrence) for i in sent]

    now = utcnow()
    assert round_at(now) == [("CAL-P01", 1)]
    assert round_at(now + timedelta(days=3)) == []  # not due again yet
    assert round_at(now + timedelta(days=8)) == [("CAL-P01", 2)]


def test_a_timepoint_opens_by_itself_days_after_enrolment_within_its_window(
        cli, nsw, make_participant, tmp_path: Path):
    from datetime import timedelta

    from storage.models import utcnow
    from web_survey.sending import make_due_invitations

    make_participant(code="CAL-0001", phone=None)
    cli("plan", "publish", str(plan_file(tmp_path, """
timepoints:
  - {name: baseline}
  - {name: 3-month, opens_after_days: 90, window_days: 30}
  - {name: exit}
""")), "--site", "CAL")

    def round_at(days: int) -> list[tuple[str, str]]:
        with nsw.uow() as uow:
            made = make_due_invitations(nsw, uow, uow.repo.site("CAL"),
                                        utcnow() + timedelta(days=days))
            return [(i.participant.code, i.wave) for i in made]

    assert round_at(89) == []
    assert round_at(91) == [("CAL-0001", "3-month")]
    assert round_at(95) == []  # invited once
    with nsw.uow() as uow:
        assert uow.repo.participant("CAL-0001").current_wave == "3-month"
    make_participant(code="CAL-0002", phone=None)
    assert round_at(125) == []  # day 125: past its 30-day window, so not opened
    assert round_at(100) == [("CAL-0002", "3-month")]
