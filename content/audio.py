"""Where the spoken version of a prompt lives.

Every prompt's audio is named by a hash of (text, language, speed), so the same words
are rendered once and an edited prompt gets a new file. Channels ask ``find_audio``
and fall back (Twilio ``<Say>``, the browser's speech synthesis, text) when it is None.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SPEEDS = ("normal", "slow")
# Preferred first: MP3 plays everywhere (Twilio <Play>, browsers); OGG/Opus is for
# Telegram voice notes; WAV comes from espeak-ng when gTTS is unreachable.
EXTENSIONS = (".mp3", ".ogg", ".wav")
CONTENT_TYPES = {".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav"}


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
