"""Sites, staff and participants from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.channel_table import ENROLLED
from storage.enrolment import (
    EnrolmentError,
    add_participant,
    delete_recordings,
    erase,
    import_csv,
)
from storage.models import Site, StaffRole
from storage.staff import StaffError, add_staff

from .common import make_app, services, site_or_fail

# How ``staff add`` names what it made.
_ROLE_WORDS = {StaffRole.ADMIN: "administrator", StaffRole.LEAD: "staff member",
               StaffRole.INTERVIEWER: "interviewer"}


def _password() -> str:
    """Ask twice without echo; read two lines when stdin is not a terminal (scripts)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    first, second = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
    if first != second:
        raise click.ClickException("the two passwords are not the same")
    return first


def register(main: click.Group) -> None:
    @main.group()
    def site() -> None:
        """Pilot sites."""

    @site.command("add")
    @click.argument("code")
    @click.argument("name")
    @click.option("--contact", default="", help="Who to call, told to unknown senders.")
    def site_add(code: str, name: str, contact: str) -> None:
        """Add a site, such as: site add CAL Calderdale."""
        app = make_app()
        with services(app).uow() as uow:
            if uow.repo.site(code.upper()):
                raise click.ClickException(f"site {code.upper()} already exists")
            uow.session.add(Site(code=code.upper(), name=name, contact_text=contact))
            uow.commit()
        click.echo(f"added site {code.upper()} ({name})")

    @main.group()
    def staff() -> None:
        """Site staff and administrators."""

    @staff.command("add")
    @click.argument("email")
    @click.option("--site", "site_code", help="The site this person works for.")
    @click.option("--role", type=click.Choice(tuple(StaffRole)), default=None,
                  help="admin: every site and its staff. lead (the default): everything "
                       "at their site. interviewer: interviews with their site's "
                       "participants, and nothing else.")
    @click.option("--admin", is_flag=True, help="The same as --role admin.")
    def staff_add(email: str, site_code: str | None, role: str | None, admin: bool) -> None:
        """Add a staff member; the password is asked twice."""
        if admin and role not in (None, StaffRole.ADMIN):
            raise click.ClickException(f"--admin and --role {role} say different things")
        chosen = StaffRole(role or (StaffRole.ADMIN if admin else StaffRole.LEAD))
        if not site_code and chosen != StaffRole.ADMIN:
            raise click.ClickException("say --site CODE (or --role admin for an administrator)")
        app = make_app()
        password = _password()
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code) if site_code else None
            try:
                add_staff(uow.repo, email, password, site, role=chosen)
            except StaffError as error:
                raise click.ClickException(str(error)) from error
            uow.commit()
        click.echo(f"added {_ROLE_WORDS[chosen]} {email}")

    @main.group()
    def participant() -> None:
        """Participants: add, import, erase."""

    @participant.command("add")
    @click.option("--site", "site_code", required=True)
    @click.option("--code", required=True, help="Pseudonymous code, such as CAL-0012.")
    @click.option("--type", "respondent_type", required=True,
                  type=click.Choice(["individual", "family", "professional"]))
    @click.option("--phone", default="", help="Mobile number (stored encrypted).")
    @click.option("--language", default="en")
    @click.option("--channel", default="web",
                  type=click.Choice(ENROLLED))
    @click.option("--cohort", default="")
    @click.option("--needs", default="", help="Such as easy-read;audio-first.")
    def participant_add(site_code: str, code: str, respondent_type: str, phone: str,
                        language: str, channel: str, cohort: str, needs: str) -> None:
        """Add one participant."""
        app = make_app()
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            try:
                added = add_participant(
                    uow.repo, site, code=code, respondent_type=respondent_type, phone=phone,
                    language=language, preferred_channel=channel, cohort=cohort, needs=needs)
            except EnrolmentError as error:
                raise click.ClickException(str(error)) from error
            uow.repo.audit("cli", "participant_add", site.code, participant=added.code)
            uow.commit()
        click.echo(f"added {added.code}")

    @participant.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--site", "site_code", required=True)
    def participant_import(file: Path, site_code: str) -> None:
        """Import participants from a CSV file; nothing is added if any row is wrong."""
        app = make_app()
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            result = import_csv(uow.repo, site, file.read_text(encoding="utf-8-sig"))
            if result.errors:
                for error in result.errors:
                    click.echo(f"{file.name}: {error}", err=True)
                raise click.ClickException(f"nothing imported: {len(result.errors)} problem(s)")
            uow.repo.audit("cli", "participant_import", site.code, count=len(result.added))
            uow.commit()
        click.echo(f"imported {len(result.added)} participants into {site.code}")

    @participant.command("erase")
    @click.argument("code")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def participant_erase(code: str, yes: bool) -> None:
        """Erase a person: contacts, answers and recordings. The audit line stays."""
        app = make_app()
        if not yes:
            click.confirm(f"Erase {code} and everything they said?", abort=True)
        with services(app).uow() as uow:
            person = uow.repo.participant(code.upper())
            if person is None:
                raise click.ClickException(f"there is no participant {code!r}")
            recordings = erase(uow.repo, person, "cli")
            uow.commit()
        twilio = app.extensions.get("twilio")
        left = delete_recordings(app.config["RECORDINGS_DIR"], recordings,
                                 twilio.delete_recording if twilio else None)
        click.echo(f"erased {code.upper()}")
        if left:
            raise click.ClickException(
                "these recordings could not be deleted; delete them by hand: "
                + ", ".join(left))
