"""``nsw-feedback db upgrade``: run the Alembic migrations (the Procfile's release)."""

from __future__ import annotations

import click

from .common import make_app


def register(main: click.Group) -> None:
    @main.group()
    def db() -> None:
        """Database schema."""

    @db.command()
    def upgrade() -> None:
        """Bring the database schema up to date."""
        make_app(migrate=True)
        click.echo("database is up to date")
