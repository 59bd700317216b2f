"""Downloading a site's data for its evaluation: every format, every download audited."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from flask import Response, render_template
from flask.typing import ResponseReturnValue

from storage.exports import EXPORT_FORMATS, write_export
from storage.models import Site, utcnow
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import me, site_page
from .forms import ExportForm, options

FORMAT_NAMES = {
    "long": "Long CSV: one row for each answer",
    "wide": "Wide CSV: one row for each participant and wave, with a codebook",
    "xlsx": "Excel workbook: one row for each participant and wave, codebook sheet",
    "paired": "Paired CSV: baseline, exit and change for each participant",
    "sav": "SPSS file with variable and value labels",
    "dictionary": "REDCap data dictionary",
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
    form.fmt.choices = options([(name, FORMAT_NAMES.get(name, name)) for name in EXPORT_FORMATS])
    if form.validate_on_submit():
        fmt, wave = form.fmt.data, form.wave.data or None
        media_type, extension = EXPORT_FORMATS[fmt]
        # Spooled: the writer streams rows into it, and formats that need to seek
        # (XLSX, SPSS) can; a big export goes to disk, not memory.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed by _chunks
        rows = write_export(uow.session, services().surveys, fmt, spool, site.code, wave,
                            drop_free_text=form.drop_free_text.data,
                            shift_dates=form.shift_dates.data)
        uow.repo.audit(me().email, "export", site.code, format=fmt, wave=wave or "all",
                       drop_free_text=form.drop_free_text.data,
                       shift_dates=form.shift_dates.data, rows=rows)
        uow.commit()
        size = spool.tell()
        spool.seek(0)
        name = f"nsw-{site.code.lower()}-{wave or 'all'}-{fmt}-{utcnow():%Y%m%d}.{extension}"
        return Response(_chunks(spool), mimetype=media_type, headers={  # type: ignore[arg-type]
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size)})
    return render_template("staff/exports.html", site=site, form=form,
                           errors=form.summary()), 400 if form.errors else 200
