"""``nsw-feedback remind``: remind people who were invited but have not finished."""

from __future__ import annotations

from datetime import timedelta

import click

from ..delivery import LINK_CHANNELS, NO_LINK, link_for
from ..sending import send_reminders
from .common import ALL_PROVIDERS, make_app, name_the_bot, services, site_or_fail


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", required=True)
    @click.option("--after-days", default=None, type=int,
                  help="Days since we last contacted the person (default: the site's "
                       "rule, 3 unless set with `site set`).")
    @click.option("--most", default=None, type=int,
                  help="Reminders per invitation at most (default: the site's rule, 2 "
                       "unless set).")
    @click.option("--dry-run", is_flag=True, help="Show who is due; send nothing.")
    def remind(site_code: str, after_days: int | None, most: int | None,
               dry_run: bool) -> None:
        """Remind a site's people who have not finished (web links are printed to send)."""
        app = make_app(providers=ALL_PROVIDERS)
        nsw = services(app)
        name_the_bot(app, required=False)
        with nsw.uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            after = None if after_days is None else timedelta(days=after_days)
            report = send_reminders(nsw, uow, site, "cli", after=after, most=most,
                                    dry_run=dry_run)
            for invitation in report.sent:
                where = ((link_for(app.config, invitation) or NO_LINK)
                         if invitation.channel in LINK_CHANNELS else invitation.status)
                click.echo(f"{invitation.participant.code}\t{invitation.channel}\t{where}")
            for code, reason in report.skipped:
                click.echo(f"{code}\tnot reminded: {reason}", err=True)
            verb = "due" if dry_run else "reminded"
            click.echo(f"{len(report.sent)} {verb} at {site.code}", err=True)
