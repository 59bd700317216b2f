"""``nsw-feedback export``: the evaluation data, pseudonymised, to stdout or a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.engine import WAVES
from storage.exports import write_long_csv

from .common import make_app, services, site_or_fail

FORMATS = ("long",)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="long",
                  show_default=True)
    @click.option("--wave", type=click.Choice(WAVES), default=None)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="File to write (default: standard output).")
    def export(site_code: str, fmt: str, wave: str | None, out: Path | None) -> None:
        """Export a site's answers (long: one row per answer)."""
        app = make_app()
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            if out is None:
                rows = write_long_csv(uow.session, sys.stdout, site.code, wave)
            else:
                with out.open("w", newline="", encoding="utf-8") as handle:
                    rows = write_long_csv(uow.session, handle, site.code, wave)
            uow.repo.audit("cli", "export", site.code, format=fmt, wave=wave or "all",
                           rows=rows)
            uow.commit()
        if out is not None:
            click.echo(f"wrote {rows} answers to {out}", err=True)
