"""The case-study pack: one participant's timeline, pseudonymised, as a ZIP.

A participant with answers at two timepoints, a journal entry, a family member who
answered about them and an outside measure: the pack (from the command line, and from
the participant page) holds all of them, and no phone number, chat id or other
person's code. A recording's transcript is shown, redacted, and its sound is packed when
asked for. Every pack is audited.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from content.loader import PACKAGE_CONTENT
from storage.models import (
    Answer,
    AuditEntry,
    OutsideMeasure,
    ParticipantLink,
    Recording,
    Response,
    utcnow,
)
from storage.staff import add_staff
from tests.integration.staff.conftest import PASSWORD, Staff, csrf_of
from web_survey.bootstrap import Services

PHONE = "+447700900001"
CHAT_ID = "918273645"
FAMILY_PHONE = "+447700900777"
# A domain over two of the individual survey's scales, so the pack has scores to show.
DOMAIN = """
domains:
  - id: feeling
    label: "Feeling good"
    questions: [sw_feel, home]
    score: mean
"""


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The shipped surveys, the individual one with a scored domain."""
    folder = tmp_path / "surveys"
    folder.mkdir()
    for name in ("individual.yaml", "family.yaml", "professional.yaml"):
        shutil.copy(PACKAGE_CONTENT / name, folder / name)
    with (folder / "individual.yaml").open("a", encoding="utf-8") as handle:
        handle.write(DOMAIN)
    return {**app_config, "CONTENT_DIR": str(folder)}


def _response(pid: int, wave: str, survey: str, answers: dict[str, Any], *,
              occurrence: int = 0, about: int | None = None, days_ago: int = 0) -> Response:
    """A completed response with ``answers`` (question id -> code, or text)."""
    when = utcnow() - timedelta(days=days_ago)
    response = Response(participant_id=pid, wave=wave, occurrence=occurrence, about_id=about,
                        survey_id=survey, status="completed", channel="web",
                        who_answered="self", started_at=when, completed_at=when)
    for question_id, given in answers.items():
        text, code = (given, None) if isinstance(given, str) else ("", given)
        response.answers.append(Answer(
            question_id=question_id, value_code=code, text=text, channel="web",
            value_label={None: "", 1: "Unhappy", 2: "OK", 3: "Happy"}[code]
            if question_id in ("sw_feel", "home") else ("" if code is None else "Yes"),
            recording="answer-1.ogg" if question_id == "life_better" and wave == "journal"
            else ""))
    return response


@pytest.fixture
def story(nsw: Services, make_participant: Callable[..., int], tmp_path: Path) -> int:
    """CAL-0001 at baseline and exit, a journal entry, their family member CAL-0101's
    answers about them, an outside measure; CAL-0002 (not linked) answered too."""
    person = make_participant("CAL-0001", "individual", phone=PHONE)
    family = make_participant("CAL-0101", "family", phone=FAMILY_PHONE)
    other = make_participant("CAL-0002", "individual", phone="+447700900002")
    with nsw.uow() as uow:
        uow.repo.set_contact(uow.repo.participant_by_id(person), "telegram", CHAT_ID)
        uow.session.add_all([
            _response(person, "baseline", "individual",
                      {"sw_feel": 1, "home": 2, "know_sw": 1,
                       "life_better": f"Ring me on {PHONE} please"}, days_ago=90),
            _response(person, "exit", "individual",
                      {"sw_feel": 3, "home": 3, "know_sw": 1}, days_ago=1),
            _response(person, "journal", "individual",
                      {"life_better": "We went to the park and I chose the cafe."},
                      occurrence=1, days_ago=30),
            _response(family, "baseline", "family", {"home": 3, "safe": 1}, about=person,
                      days_ago=80),
            _response(other, "baseline", "individual", {"sw_feel": 2}, days_ago=10),
            ParticipantLink(participant_id=family, about_id=person),
            OutsideMeasure(site_id=uow.repo.site("CAL").id, participant_id=person,
                           measure="placement_moves", period_start=date(2026, 1, 1),
                           period_end=date(2026, 6, 30), value=Decimal("2")),
        ])
        uow.commit()
    recordings = tmp_path / "recordings"
    recordings.mkdir(exist_ok=True)
    (recordings / "answer-1.ogg").write_bytes(b"OggS fake voice")
    return person


def _pack(data: bytes) -> tuple[str, dict[str, bytes]]:
    """The pack's page as text, and every file in it."""
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        files = {name: pack.read(name) for name in pack.namelist()}
    return files["case-study.html"].decode("utf-8"), files


def _words(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_the_pack_holds_the_whole_timeline_and_nothing_that_names_anyone(
        nsw: Services, story: int, cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    cli("export", "--site", "CAL", "--format", "case", "--participant", "cal-0001",
        "--out", str(out))
    page, files = _pack(out.read_bytes())
    words = _words(page)
    assert set(files) == {"case-study.html"}  # no audio unless asked for
    assert "Case study: CAL-0001" in words
    # Both timepoints, each answer with its change since the one before.
    assert re.search(r"Baseline .*Exit .*Journal 1 .*Family member 1, baseline", words)
    assert "How do you feel about your social worker? Happy +2" in words
    assert "Feeling good 3 +1.5" in words  # the domain: mean 1.5, then 3
    # The journal entry, the family member's answers (by role), the outside measure.
    assert "We went to the park and I chose the cafe." in words
    assert "Family member 1, baseline" in words
    assert "placement_moves 2026-01-01 2026-06-30 2" in words
    # Nothing that names anyone: no phone (even typed in an answer), chat id or other code.
    for secret in (PHONE, PHONE[3:], CHAT_ID, FAMILY_PHONE, "CAL-0101", "CAL-0002"):
        assert secret not in page, secret
    with nsw.uow() as uow:
        audit = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "case_pack"))
        assert audit is not None
        assert (audit.site_code, audit.detail["participant"], audit.detail["audio"]) == (
            "CAL", "CAL-0001", False)


def test_include_audio_adds_the_recordings_under_names_of_the_packs_own(
        story: int, cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    result = cli("export", "--site", "CAL", "--format", "case", "--participant", "CAL-0001",
                 "--out", str(out), "--include-audio")
    assert "with 1 recordings" in result.output
    page, files = _pack(out.read_bytes())
    assert files["audio/recording-1.ogg"] == b"OggS fake voice"
    assert 'href="audio/recording-1.ogg"' in page
    assert "answer-1" not in page


def test_an_unknown_or_other_sites_participant_has_no_pack(
        story: int, make_participant: Callable[..., int], cli: Callable[..., Any],
        tmp_path: Path) -> None:
    make_participant("CAM-0001", site="CAM", phone=None)
    out = tmp_path / "pack.zip"
    for code in ("CAL-9999", "CAM-0001"):
        refused = cli("export", "--site", "CAL", "--format", "case", "--participant", code,
                      "--out", str(out), expect=1)
        assert f"CAL has no participant {code}" in refused.output
        assert not out.exists()
    assert "needs --participant" in cli("export", "--site", "CAL", "--format", "case",
                                        "--out", str(out), expect=1).output


def test_a_lead_downloads_the_pack_from_the_participant_page(
        nsw: Services, story: int, client: Any) -> None:
    with nsw.uow() as uow:
        add_staff(uow.repo, "lead@calderdale.example", PASSWORD, uow.repo.site("CAL"))
        uow.commit()
    staff = Staff(client)
    staff.sign_in("lead@calderdale.example")
    person_page = staff.get("/staff/sites/CAL/participants/CAL-0001")
    html = person_page.get_data(as_text=True)
    assert "Download the case-study pack" in html and 'name="pack-include_audio"' in html
    token = re.search(r'name="pack-csrf_token"[^>]*value="([^"]+)"', html)
    assert token and csrf_of(person_page)
    download = client.post("/staff/sites/CAL/participants/CAL-0001/case-pack",
                           data={"pack-csrf_token": token.group(1),
                                 "pack-include_audio": "y"})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=cal-0001-case-study.zip")
    page, files = _pack(download.data)
    assert "audio/recording-1.ogg" in files and "Journal 1" in page
    with nsw.uow() as uow:
        audit = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "case_pack"))
        assert audit is not None
        assert (audit.actor, audit.detail["audio"], audit.detail["recordings"]) == (
            "lead@calderdale.example", True, 1)


VOICE = b"RIFF\x24\x00\x00\x00WAVEfmt fake voice"


@pytest.fixture
def spoken(nsw: Services, story: int) -> int:
    """CAL-0001's second journal entry, a voice message (in the recordings table) that
    staff wrote down, a phone number in what they wrote."""
    with nsw.uow() as uow:
        entry = _response(story, "journal", "individual", {"life_better": ""}, occurrence=2)
        entry.answers[0].recording = "rec:spoken1"
        uow.session.add(entry)
        uow.session.flush()
        vault = uow.repo.vault
        uow.session.add(Recording(
            key="spoken1", site_id=uow.repo.site("CAL").id, participant_id=story,
            response_id=entry.id, question_id="life_better", channel="web",
            content_type="audio/wav", size=len(VOICE), audio=vault.encrypt_bytes(VOICE),
            transcript=vault.encrypt(f"I chose my own bus, ring me on {PHONE}").decode()))
        uow.commit()
    return story


def test_the_pack_shows_a_recordings_transcript_redacted_and_packs_its_sound(
        spoken: int, cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    cli("export", "--site", "CAL", "--format", "case", "--participant", "CAL-0001",
        "--out", str(out))
    page, files = _pack(out.read_bytes())
    words = _words(page)
    assert re.search(r"Journal 2 .*Transcripts I chose my own bus, ring me on "
                     r"\[phone number removed\]", words)
    assert PHONE not in page and PHONE[3:] not in page
    assert set(files) == {"case-study.html"}

    result = cli("export", "--site", "CAL", "--format", "case", "--participant", "CAL-0001",
                 "--out", str(out), "--include-audio")
    assert "with 2 recordings" in result.output
    page, files = _pack(out.read_bytes())
    # The older recording's file still goes in; the new one is decrypted from its row.
    assert files["audio/recording-1.ogg"] == b"OggS fake voice"
    assert files["audio/recording-2.wav"] == VOICE
    assert 'href="audio/recording-2.wav"' in page and "spoken1" not in page
