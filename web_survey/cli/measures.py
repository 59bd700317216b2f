"""``nsw-feedback measures``: figures from outside the survey, per person and period."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from bot.service.measures import Measures, MeasuresRefused, UnknownSite

from .common import make_app, services


def _actor() -> str:
    """Who ran the import, for the audit log: the login name behind the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers): say it was the CLI
        return "cli"


def register(main: click.Group) -> None:
    @main.group()
    def measures() -> None:
        """Outside measures: figures per person and period, from a CSV."""

    @measures.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--site", "site_code", required=True)
    def measures_import(file: Path, site_code: str) -> None:
        """Import a site's measures from a CSV file; nothing if any row is wrong.

        Columns: participant, measure, period_start, period_end, value. Dates are
        YYYY-MM-DD; the same participant, measure and period imported again replaces
        the value.
        """
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise click.ClickException(f"{file.name}: nothing imported: the file is not "
                                       "UTF-8 text (save it as CSV UTF-8)") from error
        app = make_app()
        try:
            done = Measures(services(app).uow).import_csv(site_code, text, file.name, _actor())
        except UnknownSite as error:
            raise click.ClickException(
                f"there is no site {site_code!r} (add it: nsw-feedback site add)") from error
        except MeasuresRefused as refused:
            for line in refused.lines():
                click.echo(line, err=True)
            raise click.ClickException(str(refused)) from refused
        click.echo(f"imported {done.count} measures into {site_code.upper()}: "
                   f"{done.added} added, {done.replaced} replaced")
