"""Sites, staff and participants from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from bot.channel_table import ENROLLED
from bot.service.reach import SettingError, fallback_order, reminder_rule
from storage.enrolment import (
    EnrolmentError,
    add_participant,
    delete_recordings,
    erase,
    import_csv,
)
from storage.models import Site, StaffRole, StaffUser
from storage.staff import StaffError, add_staff, disable_staff, enable_staff, set_password
from storage.uow import Repository

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


def _account(repo: Repository, email: str) -> StaffUser:
    """The staff account with ``email`` (any case), or a clear error naming it."""
    user = repo.session.query(StaffUser).filter_by(email=email.strip().lower()).first()
    if user is None:
        raise click.ClickException(f"there is no staff account {email!r}")
    return user


def _change_access(email: str, change: Callable[[Repository, StaffUser], object],
                   done: str, meaning: str) -> None:
    """Disable or enable the account ``email`` (``change``), and say so."""
    with services(make_app()).uow() as uow:
        change(uow.repo, _account(uow.repo, email))
        uow.commit()
    click.echo(f"{done} {email}: {meaning}")


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

    @site.command("set")
    @click.argument("code")
    @click.option("--fallback", default=None, metavar="CHANNELS",
                  help="Channels to try in turn when one fails or brings no answer, such "
                       "as sms,voice,web ('none': only each person's own channel).")
    @click.option("--remind-after-days", type=int, default=None,
                  help="Remind people this many days after we last contacted them (3).")
    @click.option("--remind-most", type=int, default=None,
                  help="Send this many reminders at most (2).")
    def site_set(code: str, fallback: str | None, remind_after_days: int | None,
                 remind_most: int | None) -> None:
        """Set how a site reaches people: fallback order and reminder rule."""
        app = make_app()
        with services(app).uow() as uow:
            found = site_or_fail(uow.repo, code)
            try:
                order = (found.fallback_channels if fallback is None
                         else fallback_order(fallback))
                after, most = reminder_rule(
                    found.remind_after_days if remind_after_days is None
                    else remind_after_days,
                    found.remind_most if remind_most is None else remind_most)
            except SettingError as error:
                raise click.ClickException(str(error)) from error
            found.fallback_order = ",".join(order)
            found.remind_after_days, found.remind_most = after, most
            uow.repo.audit("cli", "site_settings", found.code,
                           fallback=found.fallback_order or "none",
                           remind_after_days=after, remind_most=most)
            uow.commit()
            click.echo(f"{found.code}: fallback {' -> '.join(order) or 'none'}; remind "
                       f"after {after} days, at most {most} times")

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

    @staff.command("password")
    @click.argument("email")
    def staff_password(email: str) -> None:
        """Give a staff member a new password (asked twice); they are signed out
        everywhere."""
        app = make_app()
        password = _password()
        with services(app).uow() as uow:
            try:
                set_password(uow.repo, _account(uow.repo, email), password)
            except StaffError as error:
                raise click.ClickException(str(error)) from error
            uow.commit()
        click.echo(f"new password for {email}: every session they had has ended")

    @staff.command("disable")
    @click.argument("email")
    def staff_disable(email: str) -> None:
        """Stop a staff member signing in; every session they have ends now."""
        _change_access(email, disable_staff, "disabled", "they are signed out and cannot "
                       "sign in")

    @staff.command("enable")
    @click.argument("email")
    def staff_enable(email: str) -> None:
        """Let a disabled staff member sign in again with their password."""
        _change_access(email, enable_staff, "enabled", "they can sign in again")

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
    @click.option("--about", "about", multiple=True, metavar="PCODE",
                  help="A family member or professional speaking about PCODE (repeatable).")
    def participant_add(site_code: str, code: str, respondent_type: str, phone: str,
                        language: str, channel: str, cohort: str, needs: str,
                        about: tuple[str, ...]) -> None:
        """Add one participant."""
        app = make_app()
        with services(app).uow() as uow:
            site = site_or_fail(uow.repo, site_code)
            try:
                added = add_participant(
                    uow.repo, site, code=code, respondent_type=respondent_type, phone=phone,
                    language=language, preferred_channel=channel, cohort=cohort, needs=needs,
                    about=";".join(about))
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
