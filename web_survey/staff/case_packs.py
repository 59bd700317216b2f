"""The case-study pack of one participant, from their page: leads and administrators
only (``site_page``: interviewers get 403), and every download audited."""

from __future__ import annotations

import io

from flask import current_app, flash, redirect, send_file, url_for
from flask.typing import ResponseReturnValue
from wtforms import BooleanField

from storage.models import Site
from storage.uow import UnitOfWork

from ..bootstrap import services
from ..case_pack import pack_filename, write_pack
from . import bp
from .access import me, participant_of, site_page
from .forms import StaffForm

# The form's fields are named apart from the participant form on the same page.
PREFIX = "pack"


class CasePackForm(StaffForm):
    """The participant page's button, with its choice to add the recordings."""

    include_audio = BooleanField("Add their recordings (audio files)")


@bp.post("/sites/<site_code>/participants/<code>/case-pack")
@site_page
def case_pack(uow: UnitOfWork, site: Site, code: str) -> ResponseReturnValue:
    """Download ``code``'s case-study pack (a ZIP), with their recordings if ticked."""
    person = participant_of(uow, site, code)
    form = CasePackForm(prefix=PREFIX)
    if not form.validate_on_submit():
        flash("The form had expired. Press the button again.", "error")
        return redirect(url_for("staff.participant_edit", site_code=site.code,
                                code=person.code) + "#case-pack")
    packed = io.BytesIO()
    write_pack(services(), uow, site, person.code, bool(form.include_audio.data),
               current_app.config["RECORDINGS_DIR"], me().email, packed)
    uow.commit()
    packed.seek(0)
    return send_file(packed, mimetype="application/zip", as_attachment=True,
                     download_name=pack_filename(person.code))
