"""``nsw-feedback tick``: one round of what the worker runs by itself, for cron."""

from __future__ import annotations

import click

from ..rounds import run_round
from .common import ALL_PROVIDERS, make_app, services, site_or_fail


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--site", "site_code", default=None, help="Only this site.")
    def tick(site_code: str | None) -> None:
        """Run one round: held sends, reminders and fallback steps that are due.

        What the worker does every minute with REDIS_URL set; without Redis, run this
        from cron (every few minutes). Safe to run while another round runs: no message
        is sent twice.
        """
        app = make_app(providers=ALL_PROVIDERS)
        nsw = services(app)
        if site_code:
            with nsw.uow() as uow:
                site_code = site_or_fail(uow.repo, site_code).code
        report = run_round(nsw, site_code, actor="tick")
        for code, channel, what in report.sent:
            click.echo(f"{code}\t{channel}\tsent: {what}")
        for code, channel, what in report.reminded:
            click.echo(f"{code}\t{channel}\treminded: {what}")
        for code, channel, what in report.steps:
            click.echo(f"{code}\t{channel}\tnext channel, {what}")
        counts = report.counts()
        click.echo(", ".join(f"{number} {what}" for what, number in counts.items()), err=True)
        if counts["deferred"]:
            click.echo(f"{counts['deferred']} left for the next round: a provider number "
                       "sent its share this round", err=True)
