"""``GET /audio/<lang>/<file>``: the rendered prompts, for Twilio ``<Play>``, Telegram
and the web survey's play button."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from content.audio import CONTENT_TYPES

bp = Blueprint("audio", __name__)

# Only names the renderer makes: a language code and a hash with a known extension.
# Anything else (dots, slashes, encoded traversal) is a 404 before the disk is touched.
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_FILE = re.compile(r"[0-9a-f]{32}(\.mp3|\.ogg|\.wav)")
# A file's name is the hash of its words, so a name never changes what it holds.
YEAR = 365 * 24 * 3600


@bp.get("/audio/<language>/<filename>")
def audio(language: str, filename: str) -> ResponseReturnValue:
    """The audio file, with its Content-Type; 404 for anything not rendered."""
    match = _FILE.fullmatch(filename)
    if not _LANGUAGE.fullmatch(language) or match is None:
        abort(404)
    folder = Path(current_app.config["AUDIO_DIR"]) / language
    response = send_from_directory(folder, filename, mimetype=CONTENT_TYPES[match.group(1)],
                                   max_age=YEAR)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response
