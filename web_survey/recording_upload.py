"""A recorded answer sent from a web page, for every page that asks an open question.

The person's own link (``survey_views``) and interview mode read a recording the same
way: the form's ``recording`` file (chosen, or put there by the browser's recorder),
checked by the service (``check_upload``: size, type, sound, no typed words beside it).
Mark such views ``security.takes_recordings(ask_again)`` so their requests may carry
one (and a body too big to read gets ``ask_again``'s page, status 413), and include
``survey/recording.html`` in their form (``enctype="multipart/form-data"``).
"""

from __future__ import annotations

from flask import request

from bot.service import Audio, check_upload

# The form field the file input and the browser's recorder fill.
FIELD = "recording"


def sent_recording(typed: str) -> Audio | None:
    """The checked recording this request's form sent, or None when it sent none.

    ``typed`` is the words typed for the same question. RecordingRefused, with the
    phrase that says why in easy words, when the recording cannot be taken.
    """
    upload = request.files.get(FIELD)
    # A form with an empty file input still sends the part, with no file name.
    if upload is None or not upload.filename:
        return None
    return check_upload(upload.read(), typed)
