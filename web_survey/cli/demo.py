"""``nsw-feedback demo`` and ``serve``: run the app, seeded for trying out or for real."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from content.audio import audio_status
from storage.enrolment import add_participant
from storage.models import Invitation, Participant, Site, StaffUser
from storage.staff import add_staff, hash_password
from storage.uow import Repository

from .common import ALL_PROVIDERS, make_app, services

DEMO_SITE = ("DEMO", "Demo council (not real data)")
DEMO_STAFF = "lead@demo.example"
DEMO_PEOPLE = (
    {"code": "DEMO-0001", "respondent_type": "individual", "cohort": "transition",
     "phone": "+447700900101", "preferred_channel": "sms", "needs": "easy-read;audio-first"},
    {"code": "DEMO-0002", "respondent_type": "individual", "cohort": "in-patient",
     "phone": "+447700900102", "preferred_channel": "web", "needs": "easy-read"},
    {"code": "DEMO-F0003", "respondent_type": "family", "cohort": "transition",
     "phone": "+447700900103", "preferred_channel": "sms", "needs": ""},
    {"code": "DEMO-P0004", "respondent_type": "professional", "cohort": "",
     "phone": "", "preferred_channel": "web", "needs": ""},
)


def seed_demo(repo: Repository) -> list[tuple[str, str, str]]:
    """Create the demo site, people and web invitations (once); return (code, type, token)."""
    site = repo.site(DEMO_SITE[0])
    if site is None:
        site = Site(code=DEMO_SITE[0], name=DEMO_SITE[1],
                    contact_text="Please call the social care team on 0113 496 0000.")
        repo.session.add(site)
        repo.session.flush()
    links = []
    for details in DEMO_PEOPLE:
        person = repo.participant(details["code"]) or add_participant(repo, site, **details)
        links.append((person.code, person.respondent_type, _web_token(repo, person)))
    return links


def demo_staff_password(repo: Repository) -> str:
    """Give the demo site lead a fresh random password (printed, never stored in clear)."""
    password = secrets.token_urlsafe(12)
    user = repo.session.scalar(select(StaffUser).where(StaffUser.email == DEMO_STAFF))
    if user is None:
        add_staff(repo, DEMO_STAFF, password, repo.site(DEMO_SITE[0]), actor="demo")
    else:
        user.password_hash = hash_password(password)
    return password


def _web_token(repo: Repository, person: Participant) -> str:
    """The person's web invitation for their current wave, made on the first run."""
    existing = repo.session.scalar(select(Invitation).where(
        Invitation.participant_id == person.id, Invitation.wave == person.current_wave,
        Invitation.channel == "web"))
    invitation = existing or repo.add_invitation(person, person.current_wave, "web")
    repo.session.flush()
    return invitation.token


def command_name(argv0: str | None = None) -> str:
    """How to run ``nsw-feedback`` again from this terminal: its name when that is on
    PATH (an activated virtualenv), else the path it was run by (``.venv/bin/...``)."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name != "nsw-feedback":  # run some other way (python -c, a test runner)
        return "nsw-feedback"
    found = shutil.which("nsw-feedback")
    if found and Path(found).absolute() == script.absolute():
        return "nsw-feedback"
    here, there = Path.cwd(), script.absolute()
    return str(there.relative_to(here) if there.is_relative_to(here) else there)


def _run(app: Flask, host: str, port: int) -> None:
    # Werkzeug logs each request, survey links included: create_app made every log
    # record write [token] instead (web_survey.security.keep_tokens_out_of_logs).
    app.run(host=host, port=port, debug=False, use_reloader=False)


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    def demo(host: str, port: int) -> None:
        """Seed a demo site in a local SQLite database and start the app."""
        if not os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"):
            raise click.ClickException("the demo adds made-up people: unset DATABASE_URL "
                                       "(or point it at a SQLite file) to run it")
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
        app = make_app(providers=ALL_PROVIDERS)
        with services(app).uow() as uow:
            links = seed_demo(uow.repo)
            password = demo_staff_password(uow.repo)
            uow.commit()
        base = app.config["PUBLIC_BASE_URL"]
        click.echo(f"Demo database: {app.config['DATABASE_URL']}")
        click.echo(f"Health check:  {base}/healthz")
        click.echo(audio_status(app.config["AUDIO_DIR"], services(app).surveys))
        for code, kind, token in links:
            click.echo(f"Web survey for {code} ({kind}): {base}/s/{token}")
        click.echo(f"Staff area:    {base}/staff  (sign in as {DEMO_STAFF}, "
                   f"password {password} — new each run)")
        me = command_name()
        click.echo(f"Try a survey in the terminal:  {me} chat --survey individual")
        click.echo(f"As a demo participant:         {me} chat --participant DEMO-0001")
        _run(app, host, port)

    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--workers", default=int(os.environ.get("WEB_CONCURRENCY", 2)),
                  show_default=True, type=int)
    @click.option("--threads", default=int(os.environ.get("WEB_THREADS", 4)),
                  show_default=True, type=int, help="Requests each worker serves at once.")
    def serve(host: str, port: int, workers: int, threads: int) -> None:
        """Run the production web app under gunicorn (migrations run in the release step)."""
        from gunicorn.app.base import BaseApplication

        class _Server(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)
                self.cfg.set("threads", threads)

            def load(self) -> Flask:
                return make_app(migrate=False, providers=ALL_PROVIDERS)

        _Server().run()
