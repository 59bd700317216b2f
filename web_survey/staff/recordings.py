"""A site's recordings in the staff area: play one (audited), and write down what it says.

They are listed on the person's page (``participants.participant_edit``), each with a
player and a transcript form. The audio is served here, decrypted, to the site's own
staff only (anyone else gets 404), with HTTP range requests so the browser's player can
seek. What these views do is the service's (``Listening``): the views only translate.
"""

from __future__ import annotations

import io
import re

from flask import abort, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue

from storage.models import Site
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import me, site_page
from .forms import TranscriptForm

# A player's first request for a recording: no Range, or one from byte 0. Later
# requests (seeking, the rest of the file) are the same play, not another one.
_FROM_START = re.compile(r"bytes=0-\d*")


@bp.get("/sites/<site_code>/recordings/<int:recording_id>/audio")
@site_page
def recording_audio(uow: UnitOfWork, site: Site, recording_id: int) -> ResponseReturnValue:
    """The recording's sound, for the player on the person's page (or to open alone).
    Each play from the start is written to the audit log."""
    wanted = request.headers.get("Range", "")
    heard = services().listening.play(site.code, recording_id, me().email,
                                      audit=not wanted or bool(_FROM_START.fullmatch(wanted)))
    if heard is None:
        abort(404)
    return send_file(io.BytesIO(heard.data), mimetype=heard.content_type, conditional=True,
                     download_name=heard.filename, etag=False)


@bp.post("/sites/<site_code>/recordings/<int:recording_id>/transcript")
@site_page
def recording_transcript(uow: UnitOfWork, site: Site, recording_id: int
                         ) -> ResponseReturnValue:
    """Keep what a recording says; worrying words in it go to the review queue."""
    form = TranscriptForm()
    code = request.form.get("participant", "")
    back = url_for("staff.participant_edit", site_code=site.code, code=code or "-")
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(f"{back}#recording-{recording_id}")
    concerns = services().listening.transcribe(site.code, recording_id,
                                               form.transcript.data or "", me().email)
    if concerns is None:
        abort(404)
    flash("What the recording says is saved.", "success")
    if concerns:
        flash("It has worrying words (" + ", ".join(concerns) + "). It is in the "
              "review queue on the dashboard.", "error")
    return redirect(f"{back}#recording-{recording_id}")
