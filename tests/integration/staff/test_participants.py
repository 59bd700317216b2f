"""Participants in the staff area: add, import a CSV, change, erase."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.engine import Event
from storage.models import Answer, AuditEntry, Participant, Response, SafeguardingFlag, Site
from web_survey.bootstrap import Services

from .conftest import Staff

# The sample participant import: 50 fictional people, drama-range numbers.
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample-participants.csv"


def _sample_for(site: str) -> bytes:
    """The shared sample file, only the rows of ``site``, as a site would export it."""
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    kept = [rows[0]] + [row for row in rows[1:] if row[0].startswith(f"{site}-")]
    out = io.StringIO()
    csv.writer(out).writerows(kept)
    return out.getvalue().encode()


def _upload(staff: Staff, body: bytes) -> Any:
    return staff.post("/staff/sites/CAL/participants/import",
                      data={"file": (io.BytesIO(body), "participants.csv")},
                      form_page="/staff/sites/CAL/participants/import")


def _codes(nsw: Services) -> list[str]:
    with nsw.uow() as uow:
        return list(uow.session.scalars(select(Participant.code).order_by(Participant.code)))


def test_import_the_sample_file_for_one_site(nsw: Services, as_cal: Staff) -> None:
    body = _sample_for("CAL")
    expected = [row.split(",")[0] for row in body.decode().splitlines()[1:]]
    response = _upload(as_cal, body)
    assert response.status_code == 302
    page = as_cal.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{len(expected)} participants are imported." in page
    for code in expected:
        assert f'<th scope="row">{code}</th>' in page
    assert "+4477009" not in page  # phone numbers are never shown
    assert _codes(nsw) == sorted(expected)
    with nsw.uow() as uow:
        entry = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "participant_import"))
        assert entry is not None and entry.actor == "lead@calderdale.example"
        assert entry.detail == {"count": len(expected)}


def test_bad_rows_are_reported_one_by_one_and_nothing_is_imported(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0900", site="CAL", phone="+447700900900")
    body = (
        b"code,respondent_type,cohort,language,phone,preferred_channel,needs\n"
        b"CAL-0101,individual,at-risk,en,+447700900101,sms,easy-read\n"   # fine
        b",family,,en,,web,\n"                                             # row 3
        b"CAL-0103,carer,,en,,web,\n"                                      # row 4
        b"CAL-0104,individual,,en,07700 900 1234567,sms,\n"               # row 5
        b"CAL-0101,professional,,en,,web,\n"                               # row 6
        b"CAL-0900,family,,en,,web,\n"                                     # row 7
        b"CAL-0108,family,,en,07700 900101,sms,\n"                        # row 8
    )
    response = _upload(as_cal, body)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "There is a problem" in text
    assert "Nothing was imported." in text
    assert "row 3: the code is missing" in text
    assert "row 4: the respondent type &#39;carer&#39; is not one of" in text
    assert "row 5: the phone number &#39;07700 900 1234567&#39; is not valid" in text
    assert "row 6: the code CAL-0101 is on an earlier row too" in text
    assert "row 7: the code CAL-0900 is taken: choose another code" in text
    assert "row 8: this phone number is on an earlier row too" in text
    assert "row 2" not in text
    assert _codes(nsw) == ["CAL-0900"]


def test_a_file_that_is_not_csv_text_is_refused(nsw: Services, as_cal: Staff) -> None:
    response = _upload(as_cal, b"\xff\xfe\x00binary")
    assert response.status_code == 400
    assert "not a CSV file saved as UTF-8" in response.get_data(as_text=True)
    assert _codes(nsw) == []


def test_add_one_participant_and_see_the_problem_when_the_details_are_wrong(
        nsw: Services, as_cal: Staff) -> None:
    page = "/staff/sites/CAL/participants/new"
    wrong = as_cal.post(page, data={"code": "CAL-0001", "respondent_type": "individual",
                                    "language": "en", "preferred_channel": "sms"},
                        form_page=page)
    assert wrong.status_code == 400
    assert "a phone number is needed to use sms" in wrong.get_data(as_text=True)
    assert _codes(nsw) == []
    good = as_cal.post(page, data={"code": "cal-0001", "respondent_type": "family",
                                   "language": "en", "preferred_channel": "sms",
                                   "phone": "07700 900123", "needs": ["easy-read",
                                                                      "audio-first"]},
                       form_page=page)
    assert good.status_code == 302
    with nsw.uow() as uow:
        person = uow.repo.participant("CAL-0001")
        assert person is not None and person.site.code == "CAL"
        assert person.need_list == ["easy-read", "audio-first"]
        assert uow.repo.contact_value(person, "phone") == "+447700900123"


def test_change_needs_language_channel_and_consent(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    pid = make_participant("CAL-0001", site="CAL", phone=None)
    nsw.conversations.handle(pid, "web", Event("start"))
    page = "/staff/sites/CAL/participants/CAL-0001"
    no_phone = as_cal.post(page, data={"language": "pl", "preferred_channel": "voice",
                                       "taking_part": "yes"}, form_page=page)
    assert "a phone number is needed to use voice" in no_phone.get_data(as_text=True)
    response = as_cal.post(page, data={
        "language": "pl", "preferred_channel": "voice", "phone": "+447700900555",
        "needs": ["slow-speech"], "cohort": "transition", "taking_part": "no"},
        form_page=page)
    assert response.status_code == 302
    with nsw.uow() as uow:
        person = uow.repo.participant("CAL-0001")
        assert person is not None
        assert (person.language, person.preferred_channel, person.needs, person.cohort,
                person.opted_out) == ("pl", "voice", "slow-speech", "transition", True)
        assert uow.repo.contact_value(person, "phone") == "+447700900555"
        assert uow.repo.response(person, "baseline").status == "opted_out"
        audit = {e.action: e for e in uow.session.scalars(select(AuditEntry))}
        assert audit["opt_out"].actor == "lead@calderdale.example"
        assert audit["participant_edit"].detail["fields"] == [
            "language", "preferred_channel", "needs", "cohort", "phone"]
        assert "+447700900555" not in str(audit["participant_edit"].detail)
    listing = as_cal.get("/staff/sites/CAL/participants").get_data(as_text=True)
    assert "Asked us to stop" in listing


def test_erase_asks_first_then_removes_everything_but_an_anonymous_audit_line(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int],
        app_config: dict[str, Any]) -> None:
    pid = make_participant("CAL-0001", site="CAL", phone="+447700900001")
    folder = Path(app_config["RECORDINGS_DIR"])
    folder.mkdir(parents=True)
    (folder / "cal-0001-life.wav").write_bytes(b"RIFF")
    (folder / "someone-else.wav").write_bytes(b"RIFF")
    (folder / "telegram").mkdir()
    (folder / "telegram" / "7001-42.ogg").write_bytes(b"OggS")  # a voice note of theirs
    (folder / "telegram" / "7001-43.ogg").write_bytes(b"OggS")  # someone else's
    conversation = nsw.conversations
    for event in (Event("start"), Event("text", "yes"), Event("text", "1"),
                  Event("text", "yes"), Event("skip"), Event("skip"), Event("skip"),
                  Event("skip"), Event("skip"), Event("skip"),
                  Event("recording", "cal-0001-life.wav")):
        conversation.handle(pid, "voice", event)
    conversation.handle(pid, "voice", Event("start"))
    with nsw.uow() as uow:
        uow.session.add(SafeguardingFlag(site_id=uow.repo.site("CAL").id, participant_id=pid,
                                         wave="baseline", question_id="life_better",
                                         text="hurt", matched="hurt*"))
        response = uow.session.scalar(select(Response).where(Response.participant_id == pid))
        uow.session.add_all(Answer(response_id=response.id, question_id=question,
                                   recording=name, channel="telegram")
                            for question, name in (("note_1", "telegram/7001-42.ogg"),
                                                   ("note_2", "twilio:RE0123")))
        uow.commit()
    confirm = as_cal.get("/staff/sites/CAL/participants/CAL-0001/erase")
    assert "This cannot be undone." in confirm.get_data(as_text=True)
    assert _codes(nsw) == ["CAL-0001"]  # asking changed nothing
    response = as_cal.post("/staff/sites/CAL/participants/CAL-0001/erase",
                           form_page="/staff/sites/CAL/participants/CAL-0001/erase")
    assert response.status_code == 302
    assert _codes(nsw) == []
    assert not (folder / "cal-0001-life.wav").exists()
    assert (folder / "someone-else.wav").exists()
    assert not (folder / "telegram" / "7001-42.ogg").exists()
    assert (folder / "telegram" / "7001-43.ogg").exists()
    # Twilio is not set up here, so the recording it holds is named for a person to delete.
    listing = as_cal.get("/staff/sites/CAL/participants").get_data(as_text=True)
    assert "could not be deleted" in listing and "twilio:RE0123" in listing
    with nsw.uow() as uow:
        assert uow.repo.holders("phone", "+447700900001") == []
        assert uow.session.scalar(select(func.count()).select_from(SafeguardingFlag)) == 0
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert entry is not None
        assert (entry.actor, entry.site_code, entry.detail) == (
            "lead@calderdale.example", "CAL", {"participant": "CAL-0001"})


def test_the_forms_say_nothing_about_another_sites_participants(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    """A site adds only codes that begin with its own code, so whether another site's
    code is taken or free gets word for word the same answer. A phone number Camden
    holds is added at Calderdale just as a number nobody holds is: numbers are unique
    within a site, so nothing says that another site has it."""
    make_participant("CAL-0900", site="CAL", phone="+447700900900")
    make_participant("CAM-0900", site="CAM", phone="+447700900901")
    make_participant("CAM-0901", site="CAM", phone="+447700900902")
    page = "/staff/sites/CAL/participants/new"

    def add(code: str, phone: str, status: int = 400) -> str:
        response = as_cal.post(page, data={
            "code": code, "respondent_type": "individual", "language": "en",
            "preferred_channel": "sms", "phone": phone}, form_page=page,
            follow_redirects=True)
        assert response.status_code == status
        said = re.findall(r"Check the details: [^<]*|[A-Z]+-\d+ is added\.",
                          response.get_data(as_text=True))
        assert said
        return " ".join(said).replace(code, "CODE")

    taken_there, free_there = add("CAM-0900", "07700 900555"), add("CAM-0999", "07700 900555")
    assert taken_there == free_there
    assert "is not one of this site's: codes here begin with CAL-" in html.unescape(
        taken_there)
    assert "is taken" in add("CAL-0900", "07700 900555")  # only ever one's own
    assert "this phone number is CAL-0900&#39;s" in add("CAL-0901", "07700 900900")
    held_there = add("CAL-0902", "07700 900901", status=200)
    held_nowhere = add("CAL-0903", "07700 900777", status=200)
    assert held_there == held_nowhere
    for text in (taken_there, held_there):
        for clue in ("Camden", "CAM-", "another participant", "already used", "taken"):
            assert clue not in text
    body = (b"code,respondent_type,phone,preferred_channel\n"
            b"CAM-0900,individual,,web\nCAM-0999,individual,,web\n"
            b"CAL-0950,individual,07700 900902,sms\n")
    imported = html.unescape(_upload(as_cal, body).get_data(as_text=True))
    for row, code in ((2, "CAM-0900"), (3, "CAM-0999")):
        assert (f"row {row}: the code {code} is not one of this site's: codes here begin "
                "with CAL-") in imported
    assert "row 4" not in imported
    for clue in ("Camden", "another participant", "already used", "taken"):
        assert clue not in imported
    again = _upload(as_cal, b"code,respondent_type,phone,preferred_channel\n"
                    b"CAL-0950,individual,07700 900902,sms\n")
    assert again.status_code == 302
    assert _codes(nsw) == ["CAL-0900", "CAL-0902", "CAL-0903", "CAL-0950", "CAM-0900",
                          "CAM-0901"]


def test_a_site_whose_code_begins_another_sites_cannot_take_its_codes(
        nsw: Services, as_cal: Staff) -> None:
    """With sites CAL and CAL-N, CAL-N-0001 is CAL-N's code: Calderdale cannot add it
    (and so cannot learn whether CAL-N has it)."""
    with nsw.uow() as uow:
        uow.session.add(Site(code="CAL-N", name="Calderdale North"))
        uow.commit()
    body = b"code,respondent_type\nCAL-N-0001,individual\n"
    imported = html.unescape(_upload(as_cal, body).get_data(as_text=True))
    assert "row 2: the code CAL-N-0001 is not one of this site's" in imported
    assert _codes(nsw) == []


def test_messages_sent_outside_the_survey_are_on_the_persons_page_and_only_there(
        nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    pid = make_participant("CAL-0007", site="CAL")
    other = make_participant("CAM-0007", site="CAM", phone="+447700900777")
    nsw.conversations.opt_out(pid, True, "test")
    nsw.conversations.handle(pid, "sms", Event("text", "Please ring my sister <b>today</b>"))
    nsw.conversations.opt_out(other, True, "test")
    nsw.conversations.handle(other, "sms", Event("text", "A note from Camden"))
    page = as_cal.get("/staff/sites/CAL/participants/CAL-0007").get_data(as_text=True)
    assert "Messages sent outside the survey (1)" in page
    assert "Please ring my sister &lt;b&gt;today&lt;/b&gt;" in page  # escaped, never markup
    assert "A note from Camden" not in page
    assert as_cal.get("/staff/sites/CAM/participants/CAM-0007").status_code == 404
