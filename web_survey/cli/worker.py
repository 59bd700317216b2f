"""``nsw-feedback worker``: run background jobs (sends, reminders, audio) from Redis."""

from __future__ import annotations

import click
from redis.exceptions import ConnectionError as RedisConnectionError

from web_survey.jobs import queue_name, redis_address, work

from .common import ALL_PROVIDERS, make_app


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
    def worker(burst: bool) -> None:
        """Run queued jobs and a round a minute: sends, reminders, fallback (needs REDIS_URL).

        The round (what `tick` runs once) is put on the queue every TICK_SECONDS (60)
        by RQ's own cron scheduler, inside this process; --burst runs none.
        """
        app = make_app(migrate=False, providers=ALL_PROVIDERS)
        url = app.config["REDIS_URL"]
        if not url:
            raise click.ClickException(
                "REDIS_URL is not set: without it jobs run inside the web app and the "
                "command line, so no worker is needed")
        click.echo(f"working on queue {queue_name(app.config)!r} at {redis_address(url)}",
                   err=True)
        try:
            with app.app_context():
                work(app.config, burst=burst)
        except RedisConnectionError as error:
            raise click.ClickException(
                f"cannot reach Redis at {redis_address(url)}: {error}") from error
