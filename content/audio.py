"""Where the spoken version of a prompt lives, and how it gets there.

Every prompt's audio is named by a hash of (text, language, speed), so the same words
are rendered once and an edited prompt gets a new file. Channels ask ``find_audio``
and fall back (Twilio ``<Say>``, the browser's speech synthesis, text) when it is None.

``render_audio`` makes the files: gTTS (Google's voice, needs the internet) gives MP3;
when gTTS fails, espeak-ng (a local, robotic voice) gives WAV, which a later run with a
network replaces. ffmpeg, where installed, turns either into an OGG/Opus voice note for
Telegram.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gtts import gTTS, gTTSError
from gtts.lang import tts_langs

from bot.engine import AnswerMode, Capabilities, Need, Prompt, Survey, every_prompt, localise

SPEEDS = ("normal", "slow")
# Preferred first: MP3 plays everywhere (Twilio <Play>, browsers); WAV comes from
# espeak-ng when gTTS is unreachable and plays everywhere too; OGG/Opus is for Telegram
# voice notes, and last, as neither Twilio nor every browser plays it.
EXTENSIONS = (".mp3", ".wav", ".ogg")
# What Twilio's <Play> takes (audio/mpeg, audio/wav): never OGG, which is an error
# (13420) and silence on the line.
PHONE_EXTENSIONS = (".mp3", ".wav")
CONTENT_TYPES = {".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav"}
# The participant need (storage/enrolment.py KNOWN_NEEDS) that asks for slower speech.
SLOW_NEED = Need.SLOW_SPEECH
GTTS_TIMEOUT = 20  # seconds; gTTS waits forever by default
ESPEAK_WORDS_PER_MINUTE = {"normal": 150, "slow": 110}
TOOL_TIMEOUT = 300
VOICE_NOTE_BATCH = 40


def audio_key(text: str, language: str, speed: str = "normal") -> str:
    """The file stem for ``text`` spoken in ``language`` at ``speed``."""
    if speed not in SPEEDS:
        raise ValueError(f"speed must be one of {SPEEDS}")
    digest = hashlib.sha256(f"{language}\n{speed}\n{text}".encode()).hexdigest()
    return digest[:32]


def find_audio(audio_dir: str | Path, text: str, language: str, speed: str = "normal",
               extensions: tuple[str, ...] = EXTENSIONS) -> Path | None:
    """The rendered file for this prompt (``AUDIO_DIR/<lang>/<key><ext>``), if any."""
    folder = Path(audio_dir) / language
    stem = audio_key(text, language, speed)
    for extension in extensions:
        path = folder / f"{stem}{extension}"
        if path.is_file():
            return path
    return None


def audio_url(path: Path) -> str:
    """The path the app serves ``path`` at (prefix PUBLIC_BASE_URL for Twilio)."""
    return f"/audio/{path.parent.name}/{path.name}"


def speed_for(needs: Iterable[str]) -> str:
    """The speech speed for a person with these communication needs."""
    return "slow" if SLOW_NEED in needs else "normal"


def spoken_parts(prompt: Prompt) -> tuple[str, ...]:
    """What a channel speaks for ``prompt``, in order: its words, then how to answer.

    Each part has its own file, so one instruction ("Press 1 for Yes. ...") is shared
    by every yes/no question.
    """
    return tuple(part for part in (prompt.text, prompt.instruction) if part)


def spoken_items(survey: Survey, language: str) -> Iterator[tuple[str, str]]:
    """(where, text) for everything a channel may speak in ``survey``: the title, each
    prompt's parts, help and answers on every channel (each way of answering words its
    instructions its own way). ``where`` is the question id, the phrase id or "title"."""
    yield "title", localise(survey.title, language)
    for mode in AnswerMode:
        for prompt in every_prompt(survey, language, Capabilities(mode)):
            where = prompt.question_id or prompt.phrase
            for text in (*spoken_parts(prompt), prompt.help, *(c.label for c in prompt.choices)):
                if text:
                    yield where, text


def spoken_texts(surveys: Iterable[Survey], language: str) -> list[str]:
    """Every distinct text to render in ``language``, across ``surveys``."""
    texts = (text for survey in surveys if language in survey.languages
             for _, text in spoken_items(survey, language))
    return list(dict.fromkeys(texts))


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Tools:
    """The local programs rendering can use; None where not installed."""

    espeak: str | None
    ffmpeg: str | None

    @classmethod
    def find(cls) -> Tools:
        """espeak-ng and ffmpeg from the PATH; ffmpeg only when it can encode Opus."""
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            try:
                encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"],  # noqa: S603
                                          capture_output=True, text=True, check=True,
                                          timeout=TOOL_TIMEOUT).stdout
            except (OSError, subprocess.SubprocessError):
                encoders = ""
            ffmpeg = ffmpeg if "libopus" in encoders else None
        return cls(shutil.which("espeak-ng"), ffmpeg)


@dataclass
class Rendered:
    """What one language's run did, counted per (text, speed)."""

    language: str
    gtts: int = 0
    espeak: int = 0
    cached: int = 0
    missing: int = 0
    voice_notes: int = 0

    def summary(self) -> str:
        total = self.gtts + self.espeak + self.cached + self.missing
        return (f"{self.language}: {total} prompts: {self.gtts} new from gTTS, "
                f"{self.espeak} new from espeak-ng, {self.cached} already rendered, "
                f"{self.missing} without audio; {self.voice_notes} new voice notes")


def _write_atomically(path: Path, produce: Callable[[Path], None]) -> bool:
    """Run ``produce`` into a temporary file and move it into place only when it made
    something, so an interrupted run never leaves a half file that looks rendered."""
    # Named for this process and thread: two web workers may render one prompt at once.
    part = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        produce(part)
        if not part.is_file() or part.stat().st_size == 0:
            return False
        os.replace(part, path)
        return True
    finally:
        part.unlink(missing_ok=True)


def _gtts(text: str, language: str, speed: str, path: Path) -> None:
    speech = gTTS(text, lang=language, slow=speed == "slow", timeout=GTTS_TIMEOUT)
    with path.open("wb") as handle:
        speech.write_to_fp(handle)


def _run(command: list[str], text: str | None = None) -> None:
    subprocess.run(command, input=text.encode() if text is not None else None,  # noqa: S603
                   capture_output=True, check=True, timeout=TOOL_TIMEOUT)


def _espeak_wav(espeak: str, text: str, language: str, speed: str, wav: Path) -> bool:
    """``text`` spoken by espeak-ng (offline) into ``wav``; False when it fails."""
    command = [espeak, "-v", language, "-s", str(ESPEAK_WORDS_PER_MINUTE[speed]), "-b", "1",
               "-w"]
    try:
        return _write_atomically(wav, lambda part: _run([*command, str(part)], text))
    except (OSError, subprocess.SubprocessError):
        return False


def render_now(audio_dir: str | Path, text: str, language: str,
               speed: str = "normal") -> Path | None:
    """One prompt rendered at once by espeak-ng, for a channel that cannot speak
    ``language`` itself (Twilio's ``<Say>`` has no Urdu voice: it plays recorded audio
    instead). The WAV is kept where ``find_audio`` looks, so it is made once; a later
    ``content audio`` run online replaces it with gTTS's voice. None when espeak-ng is
    not installed or cannot speak the language."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    folder = Path(audio_dir) / language
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    wav = folder / f"{audio_key(text, language, speed)}.wav"
    return wav if _espeak_wav(espeak, text, language, speed, wav) else None


def _language_name(language: str) -> str:
    return f"{language} ({tts_langs().get(language, 'unknown language')})"


class Renderer:
    """Renders prompts into ``audio_dir``, saying what it could not do once per language.

    Prompts render on a few threads, as a gTTS request mostly waits on the network;
    voice notes are converted in batches, as starting ffmpeg costs more than encoding.
    """

    def __init__(self, audio_dir: str | Path, tools: Tools, say: Callable[[str], None],
                 workers: int = 4):
        self.audio_dir = Path(audio_dir)
        self.tools = tools
        self.say = say
        self.workers = workers
        self._lock = threading.Lock()
        self._gtts_failed_for: set[str] = set()
        if not tools.ffmpeg:
            say("ffmpeg with Opus is not installed: no OGG voice notes "
                "(Telegram sends the audio file).")

    def render(self, language: str, texts: Iterable[str]) -> Rendered:
        """Make the files for ``texts`` in ``language`` at every speed; never raises for a
        failed voice: that prompt is left without a file and the channel falls back."""
        folder = self.audio_dir / language
        folder.mkdir(parents=True, exist_ok=True)
        jobs = [(text, speed) for text in texts for speed in SPEEDS]
        with ThreadPoolExecutor(self.workers) as pool:
            made = list(pool.map(lambda job: self._one(folder, language, *job), jobs))
        counts = Counter(source for source, _ in made)
        counts["voice_notes"] = self._voice_notes_for(
            language, [stem for source, stem in made if source != "missing"])
        return Rendered(language, **counts)

    def _one(self, folder: Path, language: str, text: str, speed: str) -> tuple[str, Path]:
        """Where this prompt's audio came from ("missing" when nowhere), and its stem."""
        stem = folder / audio_key(text, language, speed)
        if stem.with_suffix(".mp3").is_file():
            return "cached", stem
        if self._gtts(text, language, speed, stem):
            return "gtts", stem
        if stem.with_suffix(".wav").is_file():
            return "cached", stem
        if self._espeak(text, language, speed, stem.with_suffix(".wav")):
            return "espeak", stem
        return "missing", stem

    def _gtts(self, text: str, language: str, speed: str, stem: Path) -> bool:
        if language in self._gtts_failed_for:
            return False
        try:
            made = _write_atomically(stem.with_suffix(".mp3"),
                                     partial(_gtts, text, language, speed))
        except (gTTSError, ValueError, OSError) as error:
            self._gtts_failed(language, error)
            return False
        if made:
            # A better voice replaces an espeak-ng stand-in and its voice note.
            stem.with_suffix(".wav").unlink(missing_ok=True)
            stem.with_suffix(".ogg").unlink(missing_ok=True)
        return made

    def _gtts_failed(self, language: str, error: Exception) -> None:
        with self._lock:
            if language in self._gtts_failed_for:
                return
            self._gtts_failed_for.add(language)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if self.tools.espeak:
            then = "using espeak-ng (a local voice) instead; run again online for gTTS"
        else:
            then = ("espeak-ng is not installed, so new prompts have no audio file and "
                    "channels fall back to Twilio <Say>, the browser's speech synthesis or text")
        self.say(f"{_language_name(language)}: gTTS failed ({reason}): {then}.")

    def _espeak(self, text: str, language: str, speed: str, wav: Path) -> bool:
        return bool(self.tools.espeak) and _espeak_wav(str(self.tools.espeak), text,
                                                       language, speed, wav)

    def _voice_notes_for(self, language: str, stems: list[Path]) -> int:
        """OGG/Opus voice notes beside each MP3 or WAV that has none; how many were made.

        Starting ffmpeg costs more than encoding a short prompt, so one ffmpeg converts
        a batch; a batch that fails is retried file by file, so one bad file costs only
        its own voice note.
        """
        wanted = [stem for stem in stems if not stem.with_suffix(".ogg").is_file()]
        if not self.tools.ffmpeg or not wanted:
            return 0
        batches = [wanted[i:i + VOICE_NOTE_BATCH] for i in range(0, len(wanted), VOICE_NOTE_BATCH)]
        with ThreadPoolExecutor(self.workers) as pool:
            made = sum(pool.map(self._convert, batches))
        if made < len(wanted):
            self.say(f"{_language_name(language)}: ffmpeg could not make {len(wanted) - made} "
                     "voice notes: Telegram sends those prompts as audio files.")
        return made

    def _convert(self, stems: list[Path]) -> int:
        parts = [stem.with_name(stem.name + ".ogg.part") for stem in stems]
        command = [str(self.tools.ffmpeg), "-nostdin", "-loglevel", "error", "-y"]
        for stem in stems:
            source = stem.with_suffix(".mp3")
            command += ["-i", str(source if source.is_file() else stem.with_suffix(".wav"))]
        for index, part in enumerate(parts):
            command += ["-map", f"{index}:a", "-c:a", "libopus", "-b:a", "32k", "-ac", "1",
                        "-f", "ogg", str(part)]
        try:
            _run(command)
            for stem, part in zip(stems, parts, strict=True):
                os.replace(part, stem.with_suffix(".ogg"))
            return len(stems)
        except (OSError, subprocess.SubprocessError):
            if len(stems) == 1:
                return 0
            return sum(self._convert([stem]) for stem in stems)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)


def render_audio(audio_dir: str | Path, surveys: Iterable[Survey],
                 languages: Iterable[str], say: Callable[[str], None],
                 tools: Tools | None = None) -> Iterator[Rendered]:
    """Render every prompt of ``surveys`` in each of ``languages``, yielding each
    language's result as soon as it is done."""
    surveys = list(surveys)
    renderer = Renderer(audio_dir, tools or Tools.find(), say)
    for language in languages:
        yield renderer.render(language, spoken_texts(surveys, language))


def audio_status(audio_dir: str | Path, surveys: Iterable[Survey]) -> str:
    """One line saying how many prompts have audio and what happens for the rest."""
    surveys = list(surveys)
    have = total = 0
    for language in languages_of(surveys):
        for text in spoken_texts(surveys, language):
            for speed in SPEEDS:
                total += 1
                have += find_audio(audio_dir, text, language, speed) is not None
    if have == total:
        return f"Audio: all {total} prompts have a file in {audio_dir}."
    return (f"Audio: {have} of {total} prompts have a file in {audio_dir}. The rest fall "
            "back: calls use Twilio <Say>, web pages the browser's speech synthesis, "
            "Telegram and texts the words alone. Render them with: nsw-feedback content "
            "audio (gTTS needs the internet; offline, espeak-ng speaks instead).")


def languages_of(surveys: Iterable[Survey]) -> list[str]:
    """Every language any of ``surveys`` is written in, in order."""
    return list(dict.fromkeys(lang for survey in surveys for lang in survey.languages))

