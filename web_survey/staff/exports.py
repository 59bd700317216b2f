"""Downloading a site's data for its evaluation: every format, every download audited."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from flask import Response, render_template
from flask.typing import ResponseReturnValue

from bot.service.site_surveys import SiteSurveys
from storage.exports import (
    EXPORT_FORMATS,
    ExportError,
    audit_export,
    codebook_filename,
    drain,
    export_filename,
    stream_export,
    write_codebook,
)
from storage.models import Site
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import me, site_page
from .forms import WAVE_NAMES, ExportForm, options

FORMAT_NAMES = {
    "long": "Long CSV: one row for each answer",
    "wide": "Wide CSV: one row for each participant and timepoint or entry (one survey)",
    "wide_codebook": "Codebook for the wide CSV: wording, codes and labels (one survey)",
    "xlsx": "Excel workbook: one sheet for each survey, paired and trajectory sheets, "
            "entries and a codebook sheet",
    "paired": "Paired CSV: two timepoints and the change for each participant (one survey)",
    "paired_codebook": "Codebook for the paired CSV (one survey)",
    "trajectory": "Trajectory CSV: every timepoint side by side for each participant "
                  "(one survey)",
    "trajectory_codebook": "Codebook for the trajectory CSV (one survey)",
    "entries": "Entries CSV: one row for each journal or story entry",
    "sav": "SPSS file with variable and value labels (one survey)",
    "dictionary": "REDCap data dictionary (one survey)",
    "events": "REDCap instrument designation: the survey in each timepoint's event "
              "(one survey)",
    "measures": "Outside measures CSV: one row for each person, measure and period",
}
CHUNK = 64 * 1024
# Exports up to this size stay in memory; larger ones spill to a temporary file.
SPOOL = 4 * 1024 * 1024


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


@bp.route("/sites/<site_code>/exports", methods=["GET", "POST"])
@site_page
def exports(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Choose a format and options; the file downloads and the audit log records it."""
    form = ExportForm()
    form.fmt.choices = options(list(FORMAT_NAMES.items()))
    surveys = SiteSurveys(services().conversations.catalogue, uow.session, site.id)
    form.survey.choices = options([("", "All surveys"),
                                   *((survey.id, survey.id.title()) for survey in surveys)])
    plan = services().conversations.catalogue.plan(uow.session, site.id)
    named = [(name, WAVE_NAMES.get(name, name)) for name in plan.names]
    form.wave.choices = options([("", "All"), *named,
                                 *((e.name, f"{e.name} entries") for e in plan.entries)])
    form.start.choices = options([("", "Default"), *named])
    form.end.choices = options([("", "Default"), *named])
    if form.validate_on_submit():
        fmt, wave = form.fmt.data, form.wave.data or None
        start, end = form.start.data or None, form.end.data or None
        survey_id = form.survey.data or None
        drop, shift = form.drop_free_text.data, form.shift_dates.data
        pair: tuple[str, str] | None = None
        # Spooled: the writer streams rows into it, and formats that need to seek
        # (XLSX, SPSS) can; a big export goes to disk, not memory.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed by _chunks
        try:
            if fmt.endswith("_codebook"):
                data_format = fmt.removesuffix("_codebook")
                rows = write_codebook(surveys, data_format, spool, survey_id, drop,
                                      shift, session=uow.session, site_code=site.code,
                                      plan=plan, **({"start": start, "end": end}
                                                    if data_format == "paired" else {}))
                name = codebook_filename(export_filename(site.code, data_format, survey_id,
                                                         wave))
            else:
                stream = stream_export(uow.session, surveys, fmt, site.code,
                                       wave, drop, shift, survey_id, vault=services().vault,
                                       plan=plan, start=start, end=end)
                rows, name, pair = drain(stream, spool), stream.filename, stream.pair
        except ExportError as error:
            spool.close()
            form.fmt.errors = [str(error).capitalize() + "."]
        else:
            audit_export(uow.repo, me().email, site.code, fmt, rows, wave, drop, shift,
                         survey_id, pair)
            uow.commit()
            size = spool.tell()
            spool.seek(0)
            media_type = "text/csv" if fmt.endswith("_codebook") else EXPORT_FORMATS[fmt][0]
            return Response(_chunks(spool), mimetype=media_type, headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(size)})
    return render_template("staff/exports.html", site=site, form=form,
                           errors=form.summary()), 400 if form.errors else 200
