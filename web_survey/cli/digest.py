"""``nsw-feedback digest``: print a site's weekly figures, or email them to its staff."""

from __future__ import annotations

from datetime import datetime

import click

from storage.models import utcnow

from ..digest import build, mailer, send
from ..periods import last_week, site_zone
from .common import make_app, services, site_or_fail


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--send", "send_it", is_flag=True,
                  help="Email it to the site's staff (needs SMTP_URL and DIGEST_FROM).")
    @click.option("--week-ending", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="The week's last day, YYYY-MM-DD [default: yesterday].")
    def digest(site_code: str, send_it: bool, week_ending: datetime | None) -> None:
        """Print a site's figures for the week (with --send, email them to its staff)."""
        app = make_app()
        nsw = services(app)
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            last = (week_ending.date() if week_ending is not None
                    else last_week(utcnow(), site_zone(nsw.config))[1])
            made = build(nsw, uow, site, last)
            click.echo(made.text(), nl=False)
            if not send_it:
                return
            sender = mailer(nsw.config)
            if sender is None:
                return  # mailer() has said, in its one log line, that email is off
            readers = send(nsw, uow, site, made, sender, "cli")
            uow.commit()
            click.echo(f"sent to {len(readers)} staff at {site.code}", err=True)
