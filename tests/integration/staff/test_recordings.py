"""Recordings, end to end: sent from the web link (a file, as the browser's recorder or a
file input posts it) and made on a phone call; stored once, encrypted, with the length
ffprobe measured; played back to the site's own staff with HTTP range requests, every
play audited; written down, with worrying words sent to the review queue; exported as
a transcript, never as sound; erased with the person."""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import shutil
import struct
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

import content
from bot.engine import UNHEARD
from bot.service.recordings import MAX_RECORDING_BYTES
from storage.exports import write_export
from storage.models import AuditEntry, Participant, Recording, SafeguardingFlag
from tests.helpers import Browser, stored_answers
from web_survey.bootstrap import Services

from ..twilio_fakes import MP3, Call, sid, twilio_settings
from .conftest import Staff, csrf_of

# The professional survey: consent, six closed questions, then an open one.
TO_THE_OPEN_QUESTION = ("Yes", "Nurse", "Yes", "Agree", "Strongly agree", "Neither", "Low")
OPEN_QUESTION = "Is there anything else you want to tell us?"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def make_wav(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A real WAV file: a quiet tone, as a browser's recorder or a phone's memo makes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(b"".join(
            struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * n / rate)))
            for n in range(int(seconds * rate))))
    return out.getvalue()


def encoded(wav: bytes, *arguments: str) -> bytes:
    """``wav`` re-encoded by ffmpeg (``-f ogg`` ...), as other recorders save it."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", *arguments, "pipe:1"],
                          input=wav, capture_output=True, check=True).stdout


@pytest.fixture
def app_config(app_config, stand_in):
    app_config.update(twilio_settings(stand_in.url))
    return app_config


@pytest.fixture
def at_open_question(client, nsw, make_participant) -> Callable[..., Browser]:
    """A professional on their web link, at the survey's open question."""

    def reach(code: str = "CAL-0001", site: str = "CAL") -> Browser:
        pid = make_participant(code, "professional", phone=None, site=site)
        with nsw.uow() as uow:
            token = uow.repo.add_invitation(uow.repo.participant_by_id(pid), "baseline",
                                            "web").token
            uow.commit()
        page = Browser(client, token).open()
        for label in TO_THE_OPEN_QUESTION:
            page.choose(label)
        assert page.h1() == OPEN_QUESTION
        return page

    return reach


def recordings(nsw: Services) -> list[Recording]:
    with nsw.uow() as uow:
        found = list(uow.session.scalars(select(Recording).order_by(Recording.id)))
        for recording in found:
            _ = recording.audio  # deferred: load it before the session closes
        uow.session.expunge_all()  # kept as read: the unit of work rolls back on leaving
        return found


def send(page: Browser, data: bytes, name: str, content_type: str, text: str = "") -> Browser:
    """Press Continue with a recording in the file input, as a browser posts it."""
    return page.post(text=text, action="continue",
                     recording=(io.BytesIO(data), name, content_type))


# ------------------------------------------------------------------ the web link


@needs_ffmpeg
@pytest.mark.parametrize(("kind", "name", "content_type", "seconds"), [
    ("wav", "voice-message.wav", "audio/wav", 1.5),
    ("ogg", "voice-message.ogg", "audio/ogg", 2.0),
    ("webm", "voice-message.webm", "audio/webm", 1.0),
])
def test_a_voice_message_from_the_web_link_is_stored_once_encrypted_with_its_length(
        nsw, at_open_question, kind, name, content_type, seconds):
    page = at_open_question()
    # The question takes a voice message with no JavaScript: a file input in a
    # multipart form, and record.js to add the browser's recorder where it can.
    assert 'enctype="multipart/form-data"' in page.page
    assert re.search(r'<input[^>]*type="file" id="recording" name="recording"', page.page)
    assert '<label class="label" for="recording">Choose a voice message</label>' in page.page
    assert "record.js" in page.page
    sound = make_wav(seconds)
    if kind == "ogg":
        sound = encoded(sound, "-c:a", "libopus", "-f", "ogg")
    elif kind == "webm":  # as Chrome's MediaRecorder writes it: no length in the header
        sound = encoded(sound, "-c:a", "libopus", "-f", "webm")
    send(page, sound, name, content_type)
    assert page.status == 200
    assert page.h1() == "Check your answers."
    assert "Voice message" in page.words()

    stored, = recordings(nsw)
    assert (stored.content_type, stored.channel, stored.question_id, stored.size) == (
        content_type, "web", "comments", len(sound))
    assert stored.duration == pytest.approx(seconds, abs=0.1)
    assert sound not in stored.audio and nsw.vault.decrypt_bytes(stored.audio) == sound
    answer = stored_answers(nsw, "CAL-0001")["comments"]
    assert answer.recording == f"rec:{stored.key}"
    assert answer.channel == "web"
    # Nobody has listened yet: it waits in the review queue.
    with nsw.uow() as uow:
        flag = uow.session.scalar(select(SafeguardingFlag))
        assert (flag.text, flag.matched) == (f"rec:{stored.key}", UNHEARD)
    # Nothing of it is on disk.
    assert not any(Path(nsw.config["RECORDINGS_DIR"]).glob("**/*.*"))


@needs_ffmpeg
@pytest.mark.parametrize(("data", "text", "says"), [
    (b"These are not sounds at all.", "", "We cannot play that file."),
    (b"RIFF\x00\x00\x00\x00WAVEfmt broken", "", "We cannot play that file."),
    (b"", "", "The voice message is empty."),
    ("wav", "I said it too", "Please send your words or a voice message. Not both."),
])
def test_a_wrong_recording_is_refused_kindly_and_nothing_is_kept(nsw, at_open_question, data,
                                                                 text, says):
    page = at_open_question()
    send(page, make_wav() if data == "wav" else data, "answer.wav", "audio/wav", text)
    assert (page.status, page.h1()) == (400, OPEN_QUESTION)
    assert says in page.words()
    assert '<a href="#recording">' in page.page
    assert 'aria-describedby="recording-hint recording-error"' in page.page
    assert recordings(nsw) == []
    assert "comments" not in stored_answers(nsw, "CAL-0001")


def test_with_no_file_chosen_the_typed_words_are_the_answer(nsw, at_open_question):
    page = at_open_question()
    # A form whose file input is empty still sends the part, with no file name.
    send(page, b"", "", "application/octet-stream", "Joint visits helped.")
    assert page.h1() == "Check your answers."
    assert stored_answers(nsw, "CAL-0001")["comments"].text == "Joint visits helped."
    assert recordings(nsw) == []


def multipart(page: Browser, data: bytes) -> Any:
    """Continue with ``data`` as the recording, the form written out by hand: the test
    client spools a form this big to a file it never closes."""
    fields = {"csrf_token": page.field("csrf_token"), "question": page.field("question"),
              "action": "continue", "text": ""}
    body = b"".join(f'--edge\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n".encode() for name, value in fields.items())
    body += (b'--edge\r\nContent-Disposition: form-data; name="recording"; '
             b'filename="long.wav"\r\nContent-Type: audio/wav\r\n\r\n' + data
             + b"\r\n--edge--\r\n")
    return page.client.post(page.url, data=body,
                            content_type="multipart/form-data; boundary=edge")


def test_a_recording_too_big_is_refused_kindly_before_or_after_it_is_read(nsw,
                                                                          at_open_question):
    page = at_open_question()
    # Just over the limit: read, and refused by the check.
    refused = multipart(page, b"RIFF" + bytes(MAX_RECORDING_BYTES))
    assert refused.status_code == 400
    # Far over it: refused from its declared length before a byte is read.
    far = multipart(page, bytes(MAX_RECORDING_BYTES + 200_000))
    assert far.status_code == 413
    for answer in (refused, far):
        said = answer.get_data(as_text=True)
        assert "The voice message is too big. The most is 10 MB." in said
        assert OPEN_QUESTION in said
    assert recordings(nsw) == []


def test_other_pages_keep_the_small_body_limit(client, at_open_question):
    page = at_open_question()
    refused = client.post("/staff/sign-in", data={"email": "x" * 2_000_000})
    assert refused.status_code == 413
    assert "microphone=(self)" in client.get(page.url).headers["Permissions-Policy"]
    assert "microphone=()" in client.get("/staff/sign-in").headers["Permissions-Policy"]


# ------------------------------------------------------------------ by phone


def _to_the_recording(client, make_participant) -> Call:
    make_participant()
    call = Call(client)
    call.start()
    for key in ["1", "1", "1", "1", "1", "1", "2", "0", "1", "2"]:
        root = call.act(Digits=key)
    record = root.find("Record")
    # One take holds a long story: ten minutes, not two.
    assert (record.get("maxLength"), record.get("finishOnKey")) == ("600", "#")
    return call


@needs_ffmpeg
def test_a_phone_recording_is_stored_encrypted_and_deleted_from_twilio(
        client, nsw, make_participant, stand_in):
    call = _to_the_recording(client, make_participant)
    mp3 = encoded(make_wav(2.0), "-f", "mp3")
    recording = sid("RE")
    stand_in.recordings[recording] = mp3
    root = call.act(RecordingSid=recording, RecordingDuration="3", Digits="#")
    assert root[-1].tag == "Hangup"
    stored, = recordings(nsw)
    assert (stored.content_type, stored.channel, stored.question_id) == (
        "audio/mpeg", "voice", "life_better")
    assert stored.duration == pytest.approx(2.0, abs=0.25)  # measured, not Twilio's 3
    assert nsw.vault.decrypt_bytes(stored.audio) == mp3
    assert stored_answers(nsw, "CAL-0001")["life_better"].recording == f"rec:{stored.key}"
    assert stand_in.deleted() == [recording]
    assert not any(Path(nsw.config["RECORDINGS_DIR"]).glob("**/*.*"))


def test_a_retried_recording_step_is_stored_once_and_not_called_lost(
        client, nsw, make_participant, stand_in, caplog):
    call = _to_the_recording(client, make_participant)
    recording = sid("RE")
    stand_in.recordings[recording] = MP3
    url = call.next_url()
    form = {"RecordingSid": recording, "RecordingDuration": "5"}
    first = call.post(url, **form)
    with caplog.at_level(logging.WARNING):
        again = call.post(url, **form)  # Twilio's copy is gone: the first stored it
    assert again.get_data() == first.get_data()
    assert len(recordings(nsw)) == 1
    assert not any("RECORDING NOT SAVED" in r.getMessage() for r in caplog.records)


def test_a_phone_recording_ffprobe_cannot_read_keeps_twilios_length(
        client, nsw, make_participant, stand_in):
    call = _to_the_recording(client, make_participant)
    recording = sid("RE")
    stand_in.recordings[recording] = MP3  # the stand-in's few bytes: not real sound
    call.act(RecordingSid=recording, RecordingDuration="7")
    stored, = recordings(nsw)
    assert (stored.duration, stored.content_type) == (7.0, "audio/mpeg")
    assert nsw.vault.decrypt_bytes(stored.audio) == MP3


# ------------------------------------------------------------------ staff


@pytest.fixture
def recorded(nsw, at_open_question, sites) -> Recording:
    """A Calderdale professional's voice message, sent from their web link."""
    send(at_open_question(), make_wav(1.0), "voice-message.wav", "audio/wav")
    stored, = recordings(nsw)
    return stored


def audit_lines(nsw: Services, action: str) -> list[AuditEntry]:
    with nsw.uow() as uow:
        found = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        uow.session.expunge_all()
        return found


@needs_ffmpeg
def test_site_staff_play_a_recording_seekably_and_each_play_is_audited(
        nsw, staff: Staff, make_staff, recorded):
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    page = staff.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    src = f"/staff/sites/CAL/recordings/{recorded.id}/audio"
    # Nothing plays (or is fetched, or audited) until someone presses play.
    assert re.search(rf'<audio controls preload="none" src="{src}"', page)
    assert "Nobody has written this down yet." in page
    assert audit_lines(nsw, "recording_played") == []
    sound = nsw.vault.decrypt_bytes(recorded.audio)

    first = staff.get(src, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(sound)}"
    assert first.headers["Accept-Ranges"] == "bytes"
    assert first.headers["Content-Type"] == "audio/wav"
    assert first.data == sound[:100]
    seek = staff.get(src, headers={"Range": "bytes=1000-"})
    assert seek.status_code == 206 and seek.data == sound[1000:]
    played, = audit_lines(nsw, "recording_played")  # a seek is the same play
    assert (played.actor, played.site_code, played.detail) == (
        "lead@calderdale.example", "CAL", {"participant": "CAL-0001", "recording": recorded.id})
    whole = staff.get(src)
    assert whole.status_code == 200 and whole.data == sound
    assert len(audit_lines(nsw, "recording_played")) == 2
    assert "Recording played" in staff.get("/staff/sites/CAL/audit").get_data(as_text=True)


def test_another_sites_staff_cannot_play_or_write_down_a_recording(
        nsw, staff: Staff, make_staff, recorded):
    staff.sign_in(make_staff("lead@camden.example", "CAM"))
    for site in ("CAL", "CAM"):
        base = f"/staff/sites/{site}/recordings/{recorded.id}"
        assert staff.get(f"{base}/audio", headers={"Range": "bytes=0-99"}).status_code == 404
        assert staff.post(f"{base}/transcript", data={"transcript": "x"}).status_code == 404
    assert audit_lines(nsw, "recording_played") == []
    assert recordings(nsw)[0].transcript is None


def test_a_written_down_recording_leaves_the_queue_and_worrying_words_flag_it(
        nsw, staff: Staff, make_staff, recorded):
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    dashboard = staff.get("/staff/sites/CAL/").get_data(as_text=True)
    link = f"/staff/sites/CAL/participants/CAL-0001#recording-{recorded.id}"
    # Untranscribed: in the queue, with the way to listen instead of "Mark as handled".
    assert f'<a href="{link}">Listen to CAL-0001’s recording and write it down</a>' in dashboard
    assert "Worrying answers to review (1)" in dashboard
    # Nor can it be marked handled unheard, even by a form made by hand.
    with nsw.uow() as uow:
        unheard = uow.session.scalar(select(SafeguardingFlag.id))
    staff.post(f"/staff/sites/CAL/flags/{unheard}/handled", data={"note": "skip it"},
               form_page="/staff/sites/CAL/")
    with nsw.uow() as uow:
        assert uow.session.get(SafeguardingFlag, unheard).handled_at is None

    person = staff.get("/staff/sites/CAL/participants/CAL-0001")
    said = "My carer shouts and I am scared at home."
    saved = staff.post(f"/staff/sites/CAL/recordings/{recorded.id}/transcript",
                       data={"transcript": said, "participant": "CAL-0001",
                             "csrf_token": csrf_of(person)})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(link)
    stored, = recordings(nsw)
    assert said not in (stored.transcript or "")  # encrypted
    assert nsw.vault.decrypt(stored.transcript.encode()) == said
    assert stored.transcribed_by == "lead@calderdale.example"
    with nsw.uow() as uow:
        flags = list(uow.session.scalars(select(SafeguardingFlag).order_by(SafeguardingFlag.id)))
        assert [(f.matched, f.handled_by) for f in flags] == [
            (UNHEARD, "lead@calderdale.example"), ("scared", "")]
        assert flags[1].text == said and flags[1].question_id == "comments"
    dashboard = staff.get("/staff/sites/CAL/").get_data(as_text=True)
    assert "write it down</a>" not in dashboard
    assert "Worrying answers to review (1)" in dashboard and said in dashboard
    page = staff.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    assert said in page and "Written down by lead@calderdale.example" in page
    assert len(audit_lines(nsw, "recording_transcribed")) == 1

    # Correcting a typo flags nothing new; a new worrying word does.
    for words, flags_after in ((said.replace("shouts", "shouted"), 2),
                               (said + " He hits me.", 3)):
        staff.post(f"/staff/sites/CAL/recordings/{recorded.id}/transcript",
                   data={"transcript": words, "participant": "CAL-0001",
                         "csrf_token": csrf_of(person)})
        with nsw.uow() as uow:
            assert len(list(uow.session.scalars(select(SafeguardingFlag)))) == flags_after


def test_an_empty_transcript_or_a_missing_token_changes_nothing(nsw, staff: Staff, make_staff,
                                                                recorded):
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    person = staff.get("/staff/sites/CAL/participants/CAL-0001")
    url = f"/staff/sites/CAL/recordings/{recorded.id}/transcript"
    empty = staff.post(url, data={"transcript": "  ", "participant": "CAL-0001",
                                  "csrf_token": csrf_of(person)}, follow_redirects=True)
    assert "Type what the recording says, or paste it" in empty.get_data(as_text=True)
    assert staff.client.post(url, data={"transcript": "words"}).status_code in (302, 400)
    assert recordings(nsw)[0].transcript is None


def test_the_long_export_has_the_transcript_and_never_the_sound(nsw, staff: Staff, make_staff,
                                                                recorded, cli):
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    person = staff.get("/staff/sites/CAL/participants/CAL-0001")
    staff.post(f"/staff/sites/CAL/recordings/{recorded.id}/transcript",
               data={"transcript": "Email me at sam@example.org, joint visits helped.",
                     "participant": "CAL-0001", "csrf_token": csrf_of(person)})
    rows = list(csv.DictReader(io.StringIO(cli("export", "--site", "CAL", "--format", "long")
                                           .stdout.lstrip("\ufeff"))))
    comments, = (row for row in rows if row["question_id"] == "comments")
    assert comments["recording"] == f"rec:{recorded.key}"
    assert comments["transcript"] == "Email me at [email removed], joint visits helped."
    assert all(row["transcript"] == "" for row in rows if row is not comments)
    dropped = cli("export", "--site", "CAL", "--format", "long", "--drop-free-text").stdout
    assert "transcript" not in dropped and "rec:" not in dropped


def test_wide_paired_xlsx_and_sav_have_the_transcript_beside_the_recording(
        nsw, recorded, tmp_path):
    reference = f"rec:{recorded.key}"

    def export(fmt: str, **options: Any) -> bytes:
        out = io.BytesIO()
        with nsw.uow() as uow:
            write_export(uow.session, nsw.surveys, fmt, out, "CAL", vault=nsw.vault,
                         survey_id="professional", **options)
        return out.getvalue()

    def table(fmt: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(export(fmt).decode("utf-8-sig"))))

    # Nobody has written it down yet: the reference, and no words.
    row, = table("wide")
    assert (row["comments_recording"], row["comments_transcript"]) == (reference, "")
    said = "Email me at sam@example.org, joint visits helped."
    nsw.listening.transcribe("CAL", recorded.id, said, "lead@calderdale.example")
    written = "Email me at [email removed], joint visits helped."

    row, = table("wide")
    assert (row["comments_recording"], row["comments_transcript"]) == (reference, written)
    paired, = table("paired")
    assert (paired["comments_recording_baseline"],
            paired["comments_transcript_baseline"]) == (reference, written)
    assert paired["comments_transcript_exit"] == ""
    trajectory, = table("trajectory")
    assert trajectory["comments_transcript_baseline"] == written

    (tmp_path / "cal.xlsx").write_bytes(export("xlsx"))
    book = openpyxl.load_workbook(tmp_path / "cal.xlsx", read_only=True)
    for sheet, column in (("professional", "comments_transcript"),
                          ("professional paired", "comments_transcript_baseline")):
        header, values = book[sheet].iter_rows(values_only=True)
        assert dict(zip(header, values, strict=False))[column] == written, sheet
    codebook = [r for r in book["Codebook"].iter_rows(values_only=True)
                if r[0] == "professional" and r[1] == "comments_transcript"]
    assert codebook and "transcript" in codebook[0]

    (tmp_path / "cal.sav").write_bytes(export("sav"))
    frame, meta = pyreadstat.read_sav(str(tmp_path / "cal.sav"))
    assert list(frame["comments_transcript"]) == [written]
    assert list(frame["comments_recording"]) == [reference]
    assert meta.column_names_to_labels["comments_transcript"] == "Other comments (transcript)"

    for fmt in ("wide", "paired", "trajectory", "xlsx", "sav"):
        assert b"sam@example.org" not in export(fmt), fmt
        dropped = export(fmt, drop_free_text=True)
        assert b"joint visits" not in dropped and reference.encode() not in dropped, fmt


def test_erasing_the_person_erases_their_recordings(nsw, staff: Staff, make_staff, recorded):
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    form = staff.get("/staff/sites/CAL/participants/CAL-0001/erase")
    staff.post("/staff/sites/CAL/participants/CAL-0001/erase",
               data={"csrf_token": csrf_of(form)})
    with nsw.uow() as uow:
        assert uow.session.scalar(select(Participant)) is None
    assert recordings(nsw) == []




def test_a_recording_is_named_as_the_sites_own_version_of_the_survey_names_it(
        nsw, staff: Staff, make_staff, sites, at_open_question, tmp_path):
    shipped = Path(content.__file__).parent / "easy_read" / "professional.yaml"
    own = tmp_path / "professional.yaml"
    own.write_text(shipped.read_text(encoding="utf-8").replace(
        "label: Other comments", "label: Anything else about the pilot"), encoding="utf-8")
    nsw.publishing.publish_survey("CAL", own, "test", reason="our own wording")
    send(at_open_question(), make_wav(1.0), "voice-message.wav", "audio/wav")
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    page = staff.get("/staff/sites/CAL/participants/CAL-0001").get_data(as_text=True)
    assert ">Anything else about the pilot, baseline</h3>" in page
    assert "Other comments" not in page
