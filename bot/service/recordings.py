"""Recordings: checking a spoken answer as it arrives, and what staff do with one.

Every way of recording an answer hands its audio here before it goes through the one
door (``Conversations.record``) as a recording event: ``check_upload`` for a file a
person chose or recorded on a web page (the person's own link, and interview mode), so
size and type are checked and refused in easy words when wrong; ``from_provider`` for
audio a phone call or Telegram recorded, which is kept whatever it is.

``Listening`` is the staff side, one transaction per use case: play a recording
(audited), write down what it says (the site's worrying words are checked by the
engine's safeguarding rule, and the recording leaves the review queue), and list a
person's recordings.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from bot.engine import UNHEARD, Event, EventKind, Safeguarding
from storage.models import (
    RECORDING_EXTENSIONS,
    RECORDING_PREFIX,
    Recording,
    SafeguardingFlag,
    Site,
    utcnow,
)
from storage.uow import UnitOfWork

from .catalogue import SurveyCatalogue

log = logging.getLogger(__name__)

# The largest recording a web page may send: about ten minutes of speech in any of the
# types below (WAV, the biggest, is 10 minutes at 16 kHz mono). The request limit for
# pages that take recordings is this plus room for the form's other fields.
MAX_RECORDING_BYTES = 10 * 1024 * 1024
# The same, as people are told it ("The most is 10 MB"): the {most} of the phrases.
MAX_RECORDING_MB = MAX_RECORDING_BYTES // (1024 * 1024)
# The types a browser's recorder, a phone or a voice memo app makes, as the file's own
# first bytes say (the type a browser sends is taken from the file's name, which can be
# wrong).
TYPES = ("audio/wav", "audio/ogg", "audio/webm", "audio/mpeg", "audio/mp4")
FFPROBE_SECONDS = 30
# ffprobe reads a file, not a pipe (an MP4 keeps its index at the end); in memory where
# the system has a memory folder, so the audio never reaches a disk unencrypted.
MEMORY_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs


class Refusal(StrEnum):
    """Why a recording sent from a web page was not taken; each has easy words, the
    phrase ``web_recording_<value>``."""

    EMPTY = "empty"
    TOO_BIG = "too_big"
    NOT_AUDIO = "not_audio"
    # Words typed and a recording sent for one question: which is the answer is the
    # person's choice, so neither is thrown away.
    AND_WORDS = "and_words"


class RecordingRefused(ValueError):
    """A recording that cannot be taken, and why."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason

    @property
    def phrase(self) -> str:
        """The shared phrase that says why, kindly."""
        return f"web_recording_{self.reason.value}"


@dataclass(frozen=True)
class Audio:
    """A recording ready to store: its sound, its type and how long it lasts."""

    data: bytes = field(repr=False)
    content_type: str
    duration: float | None


def sniff(data: bytes) -> str:
    """The recording type ``data`` starts like (one of ``TYPES``), or "" for none."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"\x1aE\xdf\xa3":  # Matroska's EBML header: WebM
        return "audio/webm"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    # An ID3 tag, or an MPEG audio frame's sync bits with a layer set (AAC's is not).
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF
                              and data[1] & 0xE0 == 0xE0 and data[1] & 0x06):
        return "audio/mpeg"
    return ""


def _ffprobe(program: str, path: str, *entries: str) -> str:
    return subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [program, "-v", "error", "-select_streams", "a:0", *entries, "-of", "json", path],
        capture_output=True, text=True, timeout=FFPROBE_SECONDS, check=True).stdout


def measure(data: bytes) -> float | None:
    """Seconds of sound in ``data`` as ffprobe reads them; None when it finds no sound.

    A browser's recorder writes WebM as it goes, with no length in its header: then the
    end of the last audio packet is the length.
    """
    program = shutil.which("ffprobe")
    if program is None:
        log.error("ffprobe is not installed (apt-get install ffmpeg): recordings cannot "
                  "be measured, and none can be sent from a web page")
        return None
    with tempfile.NamedTemporaryFile(dir=MEMORY_DIR) as handle:
        handle.write(data)
        handle.flush()
        try:
            found = json.loads(_ffprobe(program, handle.name, "-show_entries",
                                        "stream=codec_type:format=duration"))
            if not found.get("streams"):
                return None
            duration = found.get("format", {}).get("duration")
            if duration is None:
                packets = json.loads(_ffprobe(program, handle.name, "-show_entries",
                                              "packet=pts_time,duration_time"))["packets"]
                duration = max((float(p.get("pts_time", 0)) + float(p.get("duration_time", 0))
                                for p in packets), default=None)
        except (subprocess.SubprocessError, ValueError, KeyError):
            return None
    return None if duration is None else round(float(duration), 2)


def check_upload(data: bytes, typed: str = "") -> Audio:
    """A recording a person sent from a web page, checked: not empty, not over
    ``MAX_RECORDING_BYTES``, one of ``TYPES`` by its own bytes, sound ffprobe can read,
    and no words ``typed`` beside it. RecordingRefused says why not."""
    if typed.strip():
        raise RecordingRefused(Refusal.AND_WORDS)
    if not data:
        raise RecordingRefused(Refusal.EMPTY)
    if len(data) > MAX_RECORDING_BYTES:
        raise RecordingRefused(Refusal.TOO_BIG)
    content_type = sniff(data)
    if not content_type:
        raise RecordingRefused(Refusal.NOT_AUDIO)
    duration = measure(data)
    if duration is None:
        raise RecordingRefused(Refusal.NOT_AUDIO)
    if duration <= 0:
        raise RecordingRefused(Refusal.EMPTY)
    return Audio(data, content_type, duration)


def from_provider(data: bytes, content_type: str, stated: float | None) -> Audio:
    """A recording a phone call or Telegram made. Kept whatever it holds (the person
    cannot send it again); its length is ffprobe's, else what the provider said."""
    duration = measure(data)
    return Audio(data, sniff(data) or content_type, stated if duration is None else duration)


def recording_event(question: str) -> Event:
    """The engine event for a recording made at ``question``, not stored yet: its value
    is what the answer will hold, ``rec:`` and a new key."""
    return Event(EventKind.RECORDING, RECORDING_PREFIX + secrets.token_urlsafe(12), question)


def key_of(reference: str) -> str:
    """The recordings-table key in an answer's ``rec:<key>``; "" for any other
    reference (an older file name, or ``twilio:<sid>`` for one still at Twilio)."""
    return reference.removeprefix(RECORDING_PREFIX) if reference.startswith(
        RECORDING_PREFIX) else ""


# ---------------------------------------------------------------- staff


@dataclass(frozen=True)
class Heard:
    """A recording's sound, decrypted to play."""

    data: bytes = field(repr=False)
    content_type: str
    filename: str


@dataclass(frozen=True)
class Listed:
    """One recording as a person's page lists it (no sound: that is played on its own)."""

    id: int
    wave: str
    question_id: str
    channel: str
    content_type: str
    duration: float | None
    created_at: datetime
    transcript: str
    transcribed_by: str
    transcribed_at: datetime | None
    question: str = ""  # the question's label in the survey version it answered


class Listening:
    """What staff do with a site's recordings: list, play (audited), write down."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork],
                 catalogue: SurveyCatalogue) -> None:
        self.uow_factory = uow_factory
        self.catalogue = catalogue

    def _label(self, uow: UnitOfWork, recording: Recording) -> str:
        """What ``recording`` answers, named as the survey version it answered names it
        (a site's own question, its own wording); its id when that is unknown."""
        response = recording.response
        if response is None:
            return recording.question_id
        survey = self.catalogue.version(uow.session, response.survey_version_id,
                                        response.survey_id)
        return next((q.label for q in survey.questions if q.id == recording.question_id),
                    recording.question_id)

    @staticmethod
    def _of_site(uow: UnitOfWork, site: Site, recording_id: int) -> Recording | None:
        return uow.session.scalar(select(Recording).where(
            Recording.id == recording_id, Recording.site_id == site.id))

    def of_participant(self, participant_id: int) -> list[Listed]:
        """A person's recordings, oldest first, transcripts decrypted."""
        with self.uow_factory() as uow:
            found = uow.session.scalars(select(Recording).where(
                Recording.participant_id == participant_id).order_by(Recording.id))
            return [Listed(r.id, r.response.wave if r.response else "", r.question_id,
                           r.channel, r.content_type, r.duration, r.created_at,
                           uow.repo.vault.decrypt(r.transcript.encode()) if r.transcript
                           else "",
                           r.transcribed_by, r.transcribed_at, self._label(uow, r))
                    for r in found]

    def play(self, site_code: str, recording_id: int, actor: str, audit: bool) -> Heard | None:
        """Recording ``recording_id`` of ``site_code`` to play, or None when the site has
        none by that id. ``audit``: write the "recording_played" line (a player asks for
        a recording in parts as it plays and seeks; only a play from the start counts)."""
        with self.uow_factory() as uow:
            site = uow.repo.site(site_code)
            recording = self._of_site(uow, site, recording_id) if site else None
            if recording is None:
                return None
            ending = RECORDING_EXTENSIONS.get(recording.content_type, "")
            heard = Heard(uow.repo.vault.decrypt_bytes(recording.audio),
                          recording.content_type, f"recording-{recording.id}{ending}")
            if audit:
                uow.repo.audit(actor, "recording_played", site_code,
                               participant=recording.participant.code, recording=recording.id)
                uow.commit()
            return heard

    def transcribe(self, site_code: str, recording_id: int, text: str,
                   actor: str) -> tuple[str, ...] | None:
        """Keep ``text`` as what recording ``recording_id`` says (encrypted), in one
        transaction: the recording leaves the review queue (its "listen to it" flag is
        handled by ``actor``), and words that worry, new since the last transcript, put
        it back there as a flag, as they would a typed answer. Returns those words, or
        None when ``site_code`` has no such recording."""
        with self.uow_factory() as uow:
            site = uow.repo.site(site_code)
            recording = self._of_site(uow, site, recording_id) if site else None
            if site is None or recording is None:
                return None
            vault, now = uow.repo.vault, utcnow()
            rule = Safeguarding.for_site(site.worrying_words, site.contact_text)
            before = set(rule.concerns(vault.decrypt(recording.transcript.encode()))
                         if recording.transcript else ())
            text = text.strip()
            recording.transcript = vault.encrypt(text).decode()
            recording.transcribed_by, recording.transcribed_at = actor, now
            reference = RECORDING_PREFIX + recording.key
            for flag in uow.session.scalars(select(SafeguardingFlag).where(
                    SafeguardingFlag.participant_id == recording.participant_id,
                    SafeguardingFlag.text == reference, SafeguardingFlag.matched == UNHEARD,
                    SafeguardingFlag.handled_at.is_(None))):
                flag.handled_at, flag.handled_by = now, actor
                flag.handled_note = "Listened to and written down."
            concerns = rule.concerns(text)
            response = recording.response
            wave = response.wave if response else ""
            if set(concerns) - before:
                uow.session.add(SafeguardingFlag(
                    site_id=site.id, participant_id=recording.participant_id,
                    # Said about someone (a family member's answer): their flag too.
                    about_id=response.about_id if response else None,
                    wave=wave or recording.participant.current_wave,
                    question_id=recording.question_id, text=text,
                    matched=", ".join(concerns)[:200], flagged_at=now))
            uow.repo.audit(actor, "recording_transcribed", site_code,
                           participant=recording.participant.code, recording=recording.id)
            uow.commit()
            return concerns
