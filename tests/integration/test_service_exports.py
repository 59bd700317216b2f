"""Answers given through the real service, exported: a professional enrolled about two
people lands beside each, and a diary entry texted in with its keyword is in the entries
export of the site's own (published) journal survey."""

from __future__ import annotations

import csv
import io

from bot.engine import Event
from bot.service import Sender
from storage.exports import write_export

from .test_entries import JOURNAL, PLAN
from .test_site_plans import plan_file

PRO_PHONE = "+447700900055"
# Web buttons carry the answer's code; the open question gets a few words.
ANSWERS = {"consent": "1", "role": "1", "know_sw": "1", "voice_reviews": "4",
           "voice_planning": "5", "joint_working": "3", "admission_risk": "2"}


def answer_all(nsw, pro: Sender, codes: dict[str, str]) -> None:
    """Answer every question about one person on the web, then submit if asked."""
    reply = nsw.conversations.handle(pro, "web", Event("start"))
    for _ in range(30):
        if reply.question is None:
            break
        asked = reply.question.question_id
        event = (Event("text", "Fine") if asked == "comments"
                 else Event("button", codes[asked]))
        reply = nsw.conversations.handle(pro, "web", event)
    if any(p.kind == "review" for p in reply.prompts):
        reply = nsw.conversations.handle(pro, "web", Event("submit"))


def read(nsw, fmt: str, **options) -> list[dict[str, str]]:
    out = io.BytesIO()
    with nsw.uow() as uow:
        write_export(uow.session, nsw.surveys, fmt, out, "CAL", **options)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def test_a_professional_about_two_people_lands_beside_each(cli, nsw, make_participant):
    make_participant(code="CAL-0001", phone=None)
    make_participant(code="CAL-0002", phone=None)
    cli("participant", "add", "--site", "CAL", "--code", "CAL-P01", "--type",
        "professional", "--phone", PRO_PHONE, "--channel", "web",
        "--about", "CAL-0001", "--about", "CAL-0002")
    cli("invite", "--site", "CAL", "--participant", "CAL-P01", "--wave", "baseline",
        "--channel", "web")
    pro = Sender("phone", PRO_PHONE)
    answer_all(nsw, pro, ANSWERS)
    answer_all(nsw, pro, {**ANSWERS, "voice_reviews": "2", "voice_planning": "1"})
    wide = read(nsw, "wide", survey_id="professional")
    assert [(r["participant"], r["about"], r["person"], r["status"], r["voice_reviews"])
            for r in wide] == [("CAL-P01", "CAL-0001", "CAL-0001", "completed", "4"),
                               ("CAL-P01", "CAL-0002", "CAL-0002", "completed", "2")]
    paired = read(nsw, "paired", survey_id="professional")
    assert [(r["person"], r["voice_reviews_baseline"]) for r in paired] == [
        ("CAL-0001", "4"), ("CAL-0002", "2")]
    long = read(nsw, "long", survey_id="professional")
    assert {(r["about"], r["survey_version"]) for r in long} == {("CAL-0001", "1"),
                                                                 ("CAL-0002", "1")}


def test_a_diary_entry_texted_in_is_in_the_entries_export(cli, nsw, make_participant,
                                                           tmp_path):
    pid = make_participant(phone="+447700900001")
    survey = tmp_path / "journal.yaml"
    survey.write_text(JOURNAL, encoding="utf-8")
    cli("survey", "publish", str(survey), "--site", "CAL", "--reason", "the site's words")
    cli("plan", "publish", str(plan_file(tmp_path, PLAN)), "--site", "CAL")
    for said in ("DIARY", "yes", "Went to the park, call me on 07700 900123"):
        nsw.conversations.handle(pid, "sms", Event("text", said))
    out = tmp_path / "entries.csv"
    result = cli("export", "--site", "CAL", "--format", "entries", "--out", str(out),
                 expect=None)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [(r["participant"], r["entry_type"], r["entry_number"], r["channel"],
             r["survey"], r["survey_version"], r["today"]) for r in rows] == [
        ("CAL-0001", "journal", "1", "sms", "journal", "1",
         "Went to the park, call me on [phone number removed]")]
    assert rows[0]["completed_at"]
