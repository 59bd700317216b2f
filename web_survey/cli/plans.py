"""``nsw-feedback survey ...`` and ``plan ...``: a site's own surveys and plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from bot.service.publishing import Publishing, PublishRefused
from content.plan import plan_data

from .common import make_app, services

ACTOR = "command line"
T = TypeVar("T")


def _publishing(use: Callable[[Publishing], T], refused: str = "") -> T:
    """Run ``use`` on the app's publishing service; its refusal ends the command with
    ``refused`` and the reasons, one a line."""
    try:
        return use(services(make_app()).publishing)
    except PublishRefused as error:
        hint = ("\nFix the wording, or publish with --reason saying why it must stay (it is "
                "audited)." if error.needs_reason else "")
        raise click.ClickException(refused + str(error) + hint) from None


def register(main: click.Group) -> None:
    @main.group()
    def survey() -> None:
        """A site's own surveys: publish a version, list them."""

    @survey.command("publish")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--site", "site_code", required=True)
    @click.option("--reason", default="",
                  help="Why wording the easy-read checker questions must stay (audited).")
    def publish_survey(file: Path, site_code: str, reason: str) -> None:
        """Publish FILE (survey YAML, or an XLSForm-style .xlsx) as the next version of its
        survey at a site. Earlier answers keep the version they answered."""
        done = _publishing(lambda p: p.publish_survey(site_code, file, ACTOR, reason),
                           "not published:\n")
        if not done.changed:
            click.echo(f"{done.name} is unchanged: version {done.version} stays.")
            return
        if done.overridden:
            click.echo(f"Published with {len(done.overridden)} easy-read problems kept, "
                       "for the reason given (audited).", err=True)
        click.echo(f"Published {done.name} version {done.version} for {site_code.upper()}.")

    @survey.command("list")
    @click.option("--site", "site_code", required=True)
    def list_surveys(site_code: str) -> None:
        """Every survey version the site published (and the deployment's own in use)."""
        rows = _publishing(lambda p: p.versions(site_code))
        click.echo("survey\tversion\tpublished\tby\twhose")
        for row in rows:
            whose = "site" if row.own else "deployment"
            click.echo(f"{row.survey_id}\t{row.version}\t{row.published_at:%Y-%m-%d %H:%M}\t"
                       f"{row.published_by}\t{whose}")

    @main.group()
    def plan() -> None:
        """A site's plan: its timepoints, recurring pulses and entry types."""

    @plan.command("publish")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--site", "site_code", required=True)
    def publish_plan(file: Path, site_code: str) -> None:
        """Publish FILE as the site's plan (the README shows the format)."""
        done = _publishing(lambda p: p.publish_plan(site_code, file, ACTOR),
                           "not published:\n")
        if not done.changed:
            click.echo(f"The plan is unchanged: version {done.version} stays.")
            return
        click.echo(f"Published plan version {done.version} for {site_code.upper()}.")

    @plan.command("show")
    @click.option("--site", "site_code", required=True)
    def show_plan(site_code: str) -> None:
        """The site's plan as JSON (version 0 is the default: baseline and exit)."""
        found, version = _publishing(lambda p: p.plan(site_code))
        click.echo(json.dumps({"site": site_code.upper(), "version": version,
                               **plan_data(found)}, indent=2, ensure_ascii=False))
