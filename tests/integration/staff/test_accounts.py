"""Staff accounts: a new password (command or page), disabling and enabling an account.

Each must end sessions at once: a copy of the session cookie taken before opens
nothing after (``StaffUser.session_version``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from storage.models import AuditEntry
from web_survey.bootstrap import Services

from .conftest import PASSWORD, Staff

LEAD = "lead@calderdale.example"
COLLEAGUE = "colleague@calderdale.example"
NEW = "pelican tuesday marble orchestra"
DASHBOARD = "/staff/sites/CAL/"
PASSWORD_PAGE = "/staff/account/password"
STAFF_PAGE = "/staff/sites/CAL/staff"


def _copy(app: Flask, browser: Staff) -> Staff:
    """Another browser holding a copy of ``browser``'s session cookie."""
    copy = Staff(app.test_client())
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    copy.client.set_cookie("session", cookie.value)
    assert copy.get(DASHBOARD).status_code == 200  # the copy works until the change
    return copy


def _signed_in(app: Flask, email: str) -> Staff:
    browser = Staff(app.test_client())
    assert browser.sign_in(email).status_code == 302
    return browser


def _actions(nsw: Services) -> list[str]:
    with nsw.uow() as uow:
        return list(uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ---------------------------------------------------------------- the command line


def test_staff_password_command_ends_every_session(
        app: Flask, nsw: Services, cli: Callable[..., Any], as_cal: Staff) -> None:
    copy = _copy(app, as_cal)
    weak = cli("staff", "password", LEAD, input="password1234\npassword1234\n", expect=1)
    assert "too easy to guess" in weak.output
    assert as_cal.get(DASHBOARD).status_code == 200  # a refused password changes nothing
    done = cli("staff", "password", LEAD.upper(), input=f"{NEW}\n{NEW}\n")
    assert "every session they had has ended" in done.output
    for browser in (as_cal, copy):
        assert browser.get(DASHBOARD).status_code == 302
    assert Staff(app.test_client()).sign_in(LEAD, PASSWORD).status_code == 401
    assert Staff(app.test_client()).sign_in(LEAD, NEW).status_code == 302
    assert cli("staff", "password", "nobody@example.org", input=f"{NEW}\n{NEW}\n",
               expect=1).output.count("there is no staff account") == 1
    assert _actions(nsw).count("staff_password") == 1


def test_staff_disable_and_enable_commands(
        app: Flask, nsw: Services, cli: Callable[..., Any], as_cal: Staff) -> None:
    copy = _copy(app, as_cal)
    assert "cannot sign in" in cli("staff", "disable", LEAD).output
    for browser in (as_cal, copy):
        assert browser.get(DASHBOARD).status_code == 302
    assert Staff(app.test_client()).sign_in(LEAD).status_code == 401
    assert "can sign in again" in cli("staff", "enable", LEAD).output
    assert copy.get(DASHBOARD).status_code == 302  # enabling brings no session back
    assert Staff(app.test_client()).sign_in(LEAD).status_code == 302
    assert _actions(nsw)[-2:] == ["staff_disable", "staff_enable"]


# ---------------------------------------------------------------- your own password


def _change(browser: Staff, current: str, new: str, again: str = "") -> Any:
    return browser.post(PASSWORD_PAGE, form_page=PASSWORD_PAGE, data={
        "current": current, "password": new, "confirm": again or new})


def test_changing_your_password_keeps_you_in_and_signs_out_every_other_copy(
        app: Flask, nsw: Services, as_cal: Staff) -> None:
    other_device = _copy(app, as_cal)
    response = _change(as_cal, PASSWORD, NEW)
    assert response.status_code == 302
    assert as_cal.get(DASHBOARD).status_code == 200
    assert other_device.get(DASHBOARD).status_code == 302
    assert Staff(app.test_client()).sign_in(LEAD, PASSWORD).status_code == 401
    assert Staff(app.test_client()).sign_in(LEAD, NEW).status_code == 302
    with nsw.uow() as uow:
        line = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "staff_password"))
        assert line is not None and line.actor == LEAD and NEW not in str(line.detail)


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(
        app: Flask, as_cal: Staff) -> None:
    other_device = _copy(app, as_cal)
    for current, new, again, says in (
            ("not my password at all", NEW, "", "Your current password is not right."),
            (PASSWORD, "password1234", "", "This password is too easy to guess"),
            (PASSWORD, NEW, NEW + "!", "The two new passwords are not the same"),
            ("", NEW, "", "Enter your current password")):
        response = _change(as_cal, current, new, again)
        assert response.status_code == 400
        assert says in html.unescape(response.get_data(as_text=True))
    assert other_device.get(DASHBOARD).status_code == 200
    assert Staff(app.test_client()).sign_in(LEAD, PASSWORD).status_code == 302


def test_guessing_the_current_password_is_locked_like_signing_in(
        app: Flask, as_cal: Staff) -> None:
    """A session in the wrong hands cannot be used to guess the password behind it:
    five wrong current passwords lock the page (and sign-in) for a while."""
    for _ in range(5):
        assert _change(as_cal, "a wrong guess at it", NEW).status_code == 400
    locked = _change(as_cal, PASSWORD, NEW)
    assert locked.status_code == 429
    assert "too many wrong passwords" in locked.get_data(as_text=True)
    assert as_cal.get(DASHBOARD).status_code == 200  # the session itself goes on
    assert Staff(app.test_client()).sign_in(LEAD, NEW).status_code == 429


def test_the_password_page_needs_its_form_token(app: Flask, as_cal: Staff) -> None:
    response = as_cal.client.post(PASSWORD_PAGE, data={
        "current": PASSWORD, "password": NEW, "confirm": NEW})
    assert response.status_code == 400
    assert Staff(app.test_client()).sign_in(LEAD, PASSWORD).status_code == 302


# ---------------------------------------------------------------- disabling a colleague


def _access(browser: Staff, email: str, action: str) -> Any:
    return browser.post(STAFF_PAGE, form_page=STAFF_PAGE,
                        data={"email": email, "action": action})


def test_site_staff_disable_a_colleague_who_is_signed_out_at_once(
        app: Flask, nsw: Services, as_cal: Staff, make_staff: Callable[..., str]) -> None:
    make_staff(COLLEAGUE, "CAL")
    make_staff("someone@camden.example", "CAM")
    make_staff("admin@example.org", admin=True)
    colleague = _signed_in(app, COLLEAGUE)
    listed = as_cal.get(STAFF_PAGE).get_data(as_text=True)
    assert LEAD in listed and COLLEAGUE in listed
    assert "camden" not in listed and "admin@example.org" not in listed
    response = _access(as_cal, COLLEAGUE, "disable")
    assert response.status_code == 302
    assert colleague.get(DASHBOARD).status_code == 302
    assert Staff(app.test_client()).sign_in(COLLEAGUE).status_code == 401
    assert "No: disabled" in as_cal.get(STAFF_PAGE).get_data(as_text=True)
    with nsw.uow() as uow:
        line = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "staff_disable"))
        assert line is not None and line.actor == LEAD and line.site_code == "CAL"


def test_site_staff_cannot_enable_or_reach_accounts_elsewhere_or_disable_themselves(
        app: Flask, nsw: Services, as_cal: Staff, make_staff: Callable[..., str]) -> None:
    make_staff(COLLEAGUE, "CAL")
    make_staff("someone@camden.example", "CAM")
    make_staff("admin@example.org", admin=True)
    _access(as_cal, COLLEAGUE, "disable")
    assert _access(as_cal, COLLEAGUE, "enable").status_code == 403
    for other in ("someone@camden.example", "admin@example.org"):
        assert _access(as_cal, other, "disable").status_code == 404
        _signed_in(app, other)  # still able to sign in
    own = as_cal.post(STAFF_PAGE, form_page=STAFF_PAGE, follow_redirects=True,
                      data={"email": LEAD, "action": "disable"})
    assert "You cannot disable your own account here." in html.unescape(
        own.get_data(as_text=True))
    assert as_cal.get(DASHBOARD).status_code == 200
    assert Staff(app.test_client()).sign_in(COLLEAGUE).status_code == 401


def test_an_administrator_enables_an_account_again(
        app: Flask, nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    make_staff(COLLEAGUE, "CAL")
    staff.sign_in(make_staff("admin@example.org", admin=True))
    assert _access(staff, COLLEAGUE, "disable").status_code == 302
    assert Staff(app.test_client()).sign_in(COLLEAGUE).status_code == 401
    assert _access(staff, COLLEAGUE, "enable").status_code == 302
    assert Staff(app.test_client()).sign_in(COLLEAGUE).status_code == 302
