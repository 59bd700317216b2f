"""``nsw-feedback export``: a site's evaluation data, pseudonymised, to a file or stdout."""

from __future__ import annotations

import codecs
import getpass
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.service.site_surveys import SiteSurveys
from storage.exports import (
    CODEBOOK_FORMATS,
    EXPORT_FORMATS,
    ExportError,
    audit_export,
    codebook_filename,
    stream_export,
    write_codebook,
)
from storage.exports.case import CaseError

from ..case_pack import write_pack
from .common import make_app, services, site_or_fail

if TYPE_CHECKING:
    from flask import Flask

    from ..bootstrap import Services

# ``--format case``: not a site-wide export, so not one of storage's EXPORT_FORMATS.
CASE = "case"


def _actor() -> str:
    """Who ran the export, for the audit log: the login name behind the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers): say it was the CLI
        return "cli"


def _without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` without the byte-order mark a CSV starts with. The mark is for Excel,
    which gets a file (--out); on a terminal or in a pipe it is a stray character."""
    head = b""
    chunks = iter(chunks)
    for chunk in chunks:
        head += chunk
        if len(head) >= len(codecs.BOM_UTF8):
            break
    yield head.removeprefix(codecs.BOM_UTF8)
    yield from chunks


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--format", "fmt", type=click.Choice((*EXPORT_FORMATS, CASE)),
                  default="long", show_default=True)
    @click.option("--wave", default=None,
                  help="One timepoint of the site's plan (plan show), or an entry type "
                       "such as journal. Default: all.")
    @click.option("--from", "start", default=None,
                  help="paired: the first timepoint (default baseline, else the plan's "
                       "first).")
    @click.option("--to", "end", default=None,
                  help="paired: the second timepoint (default exit, else the plan's last).")
    @click.option("--survey", "survey_id", default=None,
                  help="individual, family or professional. wide, paired, trajectory, sav, "
                       "dictionary and events cover one survey; long, entries and xlsx "
                       "cover all by default.")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="File to write (default: standard output). wide, paired and "
                       "trajectory also write their codebook beside it, as "
                       "NAME.codebook.csv.")
    @click.option("--drop-free-text", is_flag=True,
                  help="Leave out open answers and recordings.")
    @click.option("--shift-dates", is_flag=True,
                  help="Move each participant's dates back by their own 0-364 days.")
    @click.option("--participant", "participant_code", default=None,
                  help="case: the participant whose case-study pack to write.")
    @click.option("--include-audio", is_flag=True,
                  help="case: add the person's recordings to the pack.")
    def export(site_code: str, fmt: str, wave: str | None, start: str | None,
               end: str | None, survey_id: str | None, out: Path | None,
               drop_free_text: bool, shift_dates: bool, participant_code: str | None,
               include_audio: bool) -> None:
        """Export a site's answers for its evaluation, pseudonymised.

        long: a row per answer. wide: a row per participant and timepoint (or entry).
        paired: a row per participant, two timepoints side by side (--from, --to).
        trajectory: a row per participant, every timepoint side by side. entries: a row
        per journal or story entry. xlsx: these as sheets with a codebook. sav: SPSS
        with labels. dictionary: a REDCap data dictionary; events: its instrument
        designation (timepoints as events). measures: the outside measures (measures
        import), a row per person, measure and period. A family member's or
        professional's rows carry the code of the person they answered about.
        case: one participant's case-study pack (a ZIP: a printable page, and with
        --include-audio their recordings); needs --participant and --out.
        """
        app = make_app()
        nsw = services(app)
        if fmt == CASE:
            _case_pack(app, nsw, site_code, participant_code, out, include_audio)
            return
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            plan = nsw.conversations.catalogue.plan(uow.session, site.id)
            surveys = SiteSurveys(nsw.conversations.catalogue, uow.session, site.id)
            try:
                stream = stream_export(uow.session, surveys, fmt, site.code, wave,
                                       drop_free_text, shift_dates, survey_id,
                                       vault=nsw.vault, plan=plan, start=start, end=end)
            except ExportError as error:
                raise click.ClickException(str(error)) from error
            if out is None:
                target = click.get_binary_stream("stdout")
                if EXPORT_FORMATS[fmt][0] != "text/csv" and target.isatty():
                    raise click.ClickException(f"{fmt} is a binary file: use --out FILE")
                for chunk in _without_bom(stream):
                    target.write(chunk)
                target.flush()
                if fmt in CODEBOOK_FORMATS:
                    click.echo("(the codebook is written only with --out, beside the file)",
                               err=True)
            else:
                with out.open("wb") as handle:
                    for chunk in stream:
                        handle.write(chunk)
                if fmt in CODEBOOK_FORMATS:
                    codebook = out.with_name(codebook_filename(out.name))
                    with codebook.open("wb") as handle:
                        write_codebook(surveys, fmt, handle, survey_id, drop_free_text,
                                       shift_dates, session=uow.session, site_code=site.code,
                                       plan=plan, start=start, end=end)
                    click.echo(f"wrote the codebook to {codebook}", err=True)
            audit_export(uow.repo, _actor(), site.code, fmt, stream.rows, wave,
                         drop_free_text, shift_dates, survey_id, stream.pair)
            uow.commit()
        if out is not None:
            click.echo(f"wrote {stream.rows} rows to {out}", err=True)


def _case_pack(app: Flask, nsw: Services, site_code: str, participant_code: str | None,
               out: Path | None, include_audio: bool) -> None:
    """``export --format case``: one participant's case-study pack, audited."""
    if not participant_code or out is None:
        raise click.ClickException("--format case needs --participant CODE and --out FILE")
    with nsw.uow() as uow, app.app_context():
        site = site_or_fail(uow.repo, site_code)
        with out.open("wb") as handle:
            try:
                study = write_pack(nsw, uow, site, participant_code, include_audio,
                                   app.config["RECORDINGS_DIR"], _actor(), handle)
            except CaseError as error:
                handle.close()
                out.unlink()
                raise click.ClickException(str(error)) from error
        uow.commit()
    click.echo(f"wrote the case-study pack of {study.code} to {out}"
               f"{f' with {len(study.recordings)} recordings' if include_audio else ''}",
               err=True)
