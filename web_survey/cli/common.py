"""What every command shares: building the app once and opening a unit of work."""

from __future__ import annotations

import click
from flask import Flask

from content.loader import ContentError
from storage.models import Site
from storage.uow import Repository
from web_survey import create_app
from web_survey.bootstrap import Services


def make_app(migrate: bool = True) -> Flask:
    """The app, with its database brought up to date; content errors end the command."""
    try:
        app = create_app()
    except ContentError as error:
        raise click.ClickException(f"a survey file is wrong: {error}") from error
    if migrate:
        app.extensions["nsw"].migrate()
    context = click.get_current_context(silent=True)
    if context is not None:
        # Close the pool when the command ends rather than leave connections to the GC.
        context.call_on_close(app.extensions["nsw"].engine.dispose)
    return app


def services(app: Flask) -> Services:
    return app.extensions["nsw"]


def site_or_fail(repo: Repository, code: str) -> Site:
    """The site with ``code``, or a clear error naming it."""
    site = repo.site(code.upper())
    if site is None:
        raise click.ClickException(f"there is no site {code!r} (add it: nsw-feedback site add)")
    return site
