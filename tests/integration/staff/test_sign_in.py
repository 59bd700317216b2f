"""Signing in and out: argon2 passwords, limited attempts, CSRF, safe redirects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from storage.models import AuditEntry, SignInAttempt, StaffUser, utcnow
from storage.signin import MAX_PER_ACCOUNT, MAX_PER_ADDRESS, WINDOW
from storage.staff import StaffError, add_staff, disable_staff, set_password
from web_survey.bootstrap import Services
from web_survey.staff import auth

from .conftest import PASSWORD, Staff, csrf_of


def test_staff_sign_in_and_land_on_their_sites_dashboard(
        staff: Staff, make_staff: Callable[..., str]) -> None:
    response = staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    assert response.status_code == 302
    page = staff.get(response.headers["Location"], follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in text
    assert "Calderdale (CAL)" in text
    assert "Signed in as lead@calderdale.example" in text


def test_email_is_matched_whatever_its_case(staff: Staff, make_staff: Callable[..., str]) -> None:
    make_staff("lead@calderdale.example", "CAL")
    assert staff.sign_in("  Lead@Calderdale.EXAMPLE ").status_code == 302


def test_a_wrong_password_or_unknown_email_gets_the_same_answer(
        staff: Staff, make_staff: Callable[..., str]) -> None:
    make_staff("lead@calderdale.example", "CAL")
    wrong = staff.sign_in("lead@calderdale.example", "not the password")
    unknown = staff.sign_in("nobody@calderdale.example")
    for response in (wrong, unknown):
        assert response.status_code == 401
        text = response.get_data(as_text=True)
        assert "There is a problem" in text
        assert "The email address or password is not right." in text
    assert staff.get("/staff/sites/CAL/").status_code == 302  # still signed out


def test_empty_fields_are_named_in_the_error_summary(staff: Staff) -> None:
    response = staff.post("/staff/sign-in", data={"email": "", "password": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#email">Enter your email address</a>' in text
    assert '<a href="#password">Enter your password</a>' in text
    assert 'aria-invalid="true"' in text


def test_an_account_is_locked_after_repeated_failures_even_with_the_right_password(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    for _ in range(MAX_PER_ACCOUNT):
        assert staff.sign_in(email, "guess").status_code == 401
    locked = staff.sign_in(email)
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "There have been too many tries to sign in. Wait 15 minutes" in text
    assert staff.get("/staff/sites/CAL/").status_code == 302
    with nsw.uow() as uow:  # the refused try is not counted, so the lock can end
        count = uow.session.scalar(select(func.count()).select_from(SignInAttempt))
    assert count == MAX_PER_ACCOUNT


def test_the_lock_ends_when_the_failures_leave_the_window(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    long_ago = utcnow() - WINDOW - timedelta(minutes=1)
    with nsw.uow() as uow:
        uow.session.add_all(SignInAttempt(email=email, ip="127.0.0.1", at=long_ago)
                            for _ in range(MAX_PER_ACCOUNT))
        uow.commit()
    assert staff.sign_in(email).status_code == 302


def test_a_success_forgives_earlier_mistakes(staff: Staff,
                                             make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    for _ in range(MAX_PER_ACCOUNT - 1):
        staff.sign_in(email, "typo")
    assert staff.sign_in(email).status_code == 302
    staff.post("/staff/sign-out")
    staff.sign_in(email, "typo")
    assert staff.sign_in(email).status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    now = utcnow()
    with nsw.uow() as uow:
        uow.session.add_all(SignInAttempt(email=f"guess{n}@example.org", ip="127.0.0.1", at=now)
                            for n in range(MAX_PER_ADDRESS))
        uow.commit()
    response = staff.sign_in(email)
    assert response.status_code == 429
    assert "too many tries" in response.get_data(as_text=True)


def test_sign_out_needs_a_post_with_the_form_token(
        staff: Staff, make_staff: Callable[..., str]) -> None:
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    assert staff.get("/staff/sign-out").status_code == 405
    forged = staff.client.post("/staff/sign-out")
    assert forged.status_code == 400
    assert "This form has expired" in forged.get_data(as_text=True)
    assert staff.get("/staff/sites/CAL/").status_code == 200
    signed_out = staff.post("/staff/sign-out", follow_redirects=True)
    assert "You have signed out." in signed_out.get_data(as_text=True)
    assert staff.get("/staff/sites/CAL/").status_code == 302


def test_a_form_without_its_token_changes_nothing(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    staff.sign_in(make_staff("lead@calderdale.example", "CAL"))
    response = staff.client.post("/staff/sites/CAL/settings", data={
        "contact_text": "Call a forger", "safeguarding_lead": "Forger", "worrying_words": ""})
    assert response.status_code == 400
    with nsw.uow() as uow:
        assert uow.repo.site("CAL").safeguarding_lead == "Lead at Calderdale"


def test_after_sign_in_only_staff_pages_are_followed(
        staff: Staff, make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    asked = staff.get("/staff/sites/CAL/participants")
    assert asked.headers["Location"].startswith("/staff/sign-in?next=")
    token = csrf_of(staff.get("/staff/sign-in"))
    for target, landing in (("/staff/sites/CAL/participants", "/staff/sites/CAL/participants"),
                            ("https://evil.example/", "/staff/"),
                            ("//evil.example/staff", "/staff/")):
        staff.client.post("/staff/sign-out", data={"csrf_token": token})
        token = csrf_of(staff.get("/staff/sign-in"))
        response = staff.client.post(f"/staff/sign-in?next={target}", data={
            "csrf_token": token, "email": email, "password": PASSWORD})
        assert response.headers["Location"] == landing
        token = csrf_of(staff.get(landing, follow_redirects=True))


def test_staff_pages_are_never_cached(as_cal: Staff) -> None:
    assert as_cal.get("/staff/sites/CAL/participants").headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- issue 17: sessions (6)

EXPORTS = "/staff/sites/CAL/exports"


def _session_cookies(response: TestResponse) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie")
            if c.split("=", 1)[0] in ("session", "remember_token")]


@pytest.mark.parametrize("base_url", ["https://feedback.example.org", "http://127.0.0.1:5000"])
def test_one_session_cookie_same_site_http_only_and_secure_on_https(
        request: pytest.FixtureRequest, app_config: dict[str, Any], base_url: str) -> None:
    app_config["PUBLIC_BASE_URL"] = base_url
    email = request.getfixturevalue("make_staff")("lead@calderdale.example", "CAL")
    staff: Staff = request.getfixturevalue("staff")
    signed_in = staff.sign_in(email)
    assert signed_in.status_code == 302
    (cookie,) = _session_cookies(signed_in)
    flags = [part.strip() for part in cookie.split(";")[1:]]
    assert "HttpOnly" in flags and "SameSite=Lax" in flags
    assert ("Secure" in flags) == base_url.startswith("https://")
    for cookie in _session_cookies(staff.post("/staff/sign-out")):
        assert "SameSite=Lax" in cookie
        assert ("Secure" in cookie) == base_url.startswith("https://")


def _thief(app: Flask, victim: Staff) -> Staff:
    """Another browser holding a copy of the victim's session cookie."""
    thief = Staff(app.test_client())
    cookie = victim.client.get_cookie("session")
    assert cookie is not None
    thief.client.set_cookie("session", cookie.value)
    return thief


def test_a_cookie_copied_before_sign_out_opens_nothing_after(
        app: Flask, nsw: Services, as_cal: Staff, make_participant: Callable[..., int]) -> None:
    make_participant("CAL-0001", site="CAL")
    token = csrf_of(as_cal.get(EXPORTS))
    thief = _thief(app, as_cal)
    assert thief.get("/staff/sites/CAL/").status_code == 200  # the copy works while signed in
    as_cal.post("/staff/sign-out")
    assert thief.get("/staff/sites/CAL/").status_code == 302
    download = thief.client.post(EXPORTS, data={"csrf_token": token, "fmt": "long",
                                                "wave": "baseline"})
    assert download.status_code in (302, 400)
    assert download.mimetype != "text/csv"
    with nsw.uow() as uow:
        assert uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "export")) \
            is None


def test_a_new_password_ends_every_session_of_that_person(
        app: Flask, nsw: Services, as_cal: Staff) -> None:
    other_device = _thief(app, as_cal)
    with nsw.uow() as uow:
        user = uow.session.scalar(select(StaffUser))
        set_password(uow.repo, user, "a brand new passphrase here", actor="admin@example")
        uow.commit()
    for browser in (as_cal, other_device):
        assert browser.get("/staff/sites/CAL/").status_code == 302
    assert as_cal.sign_in("lead@calderdale.example", "a brand new passphrase here") \
        .status_code == 302


def test_a_disabled_account_is_signed_out_everywhere_and_cannot_sign_in(
        nsw: Services, as_cal: Staff) -> None:
    with nsw.uow() as uow:
        disable_staff(uow.repo, uow.session.scalar(select(StaffUser)), actor="admin@example")
        uow.commit()
    assert as_cal.get("/staff/sites/CAL/").status_code == 302
    refused = as_cal.sign_in("lead@calderdale.example")
    assert refused.status_code == 401
    assert "The email address or password is not right." in refused.get_data(as_text=True)


# ---------------------------------------------------------------- sign-in (7)


def test_parallel_wrong_tries_are_all_counted_and_the_lock_holds(
        app: Flask, nsw: Services, make_staff: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """16 tries at once: every one is counted, exactly MAX_PER_ACCOUNT passwords are
    checked, the rest are refused, and the lock holds afterwards."""
    email = make_staff("lead@calderdale.example", "CAL")
    checked = []
    real_check = auth.check_password

    def slow_check(user: Any, password: str) -> bool:
        checked.append(password)
        time.sleep(0.3)  # every try is in flight before any finishes
        return real_check(user, password)

    monkeypatch.setattr(auth, "check_password", slow_check)
    browsers = [Staff(app.test_client()) for _ in range(16)]
    tokens = [csrf_of(b.get("/staff/sign-in")) for b in browsers]
    start = threading.Barrier(len(browsers))

    def guess(n: int) -> int:
        start.wait()
        return browsers[n].client.post("/staff/sign-in", data={
            "csrf_token": tokens[n], "email": email, "password": f"guess {n}"}).status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = list(pool.map(guess, range(len(browsers))))
    assert len(checked) == MAX_PER_ACCOUNT
    assert statuses.count(401) == MAX_PER_ACCOUNT
    assert statuses.count(429) == len(browsers) - MAX_PER_ACCOUNT
    assert Staff(app.test_client()).sign_in(email).status_code == 429
    with nsw.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SignInAttempt)) \
            == MAX_PER_ACCOUNT


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "password1234", "abcdefghijkl",
                                  "123456789012", "qwertyuiop12", "Password1234",
                                  "calderdale2026"])
def test_common_and_repetitive_passwords_are_refused_in_easy_words(
        nsw: Services, sites: dict[str, int], weak: str) -> None:
    with nsw.uow() as uow, pytest.raises(StaffError) as refused:
        add_staff(uow.repo, "lead@calderdale.example", weak, uow.repo.site("CAL"))
    message = str(refused.value)
    assert message.startswith("this password is too easy to guess: ")
    assert "Use three or four words" in message


def test_the_add_staff_page_says_why_a_password_is_refused(
        nsw: Services, staff: Staff, make_staff: Callable[..., str]) -> None:
    staff.sign_in(make_staff("admin@example.org", admin=True))
    page = staff.post("/staff/admin/staff", data={
        "email": "new@cal.example", "site": "CAL", "password": "aaaaaaaaaaaa",
        "confirm": "aaaaaaaaaaaa"}, form_page="/staff/admin/staff")
    assert page.status_code == 400
    assert "too easy to guess: it repeats the same letters or numbers" in \
        page.get_data(as_text=True)
    with nsw.uow() as uow:
        assert uow.session.scalar(select(StaffUser).where(
            StaffUser.email == "new@cal.example")) is None


# ---------------------------------------------------------------- proxies (9, 15)


def _sign_in_from(staff: Staff, email: str, password: str, client_address: str) -> int:
    """Sign in through a proxy at 10.0.0.1 that names the client in X-Forwarded-For."""
    token = csrf_of(staff.client.get("/staff/sign-in",
                                     environ_overrides={"REMOTE_ADDR": "10.0.0.1"}))
    return staff.client.post("/staff/sign-in", data={
        "csrf_token": token, "email": email, "password": password},
        headers={"X-Forwarded-For": client_address},
        environ_overrides={"REMOTE_ADDR": "10.0.0.1"}).status_code


def test_behind_a_trusted_proxy_one_guessing_address_does_not_lock_out_colleagues(
        request: pytest.FixtureRequest, app_config: dict[str, Any]) -> None:
    app_config["TRUSTED_PROXIES"] = "1"
    email = request.getfixturevalue("make_staff")("lead@calderdale.example", "CAL")
    app: Flask = request.getfixturevalue("app")
    attacker, colleague = Staff(app.test_client()), Staff(app.test_client())
    for n in range(MAX_PER_ADDRESS):
        assert _sign_in_from(attacker, f"guess{n}@example.org", "guess", "203.0.113.66") \
            == 401
    assert _sign_in_from(attacker, email, PASSWORD, "203.0.113.66") == 429
    assert _sign_in_from(colleague, email, PASSWORD, "198.51.100.7") == 302
    with app.extensions["nsw"].uow() as uow:
        addresses = set(uow.session.scalars(select(SignInAttempt.ip)))
    assert addresses == {"203.0.113.66", "198.51.100.7"}


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_lock(
        staff: Staff, make_staff: Callable[..., str]) -> None:
    email = make_staff("lead@calderdale.example", "CAL")
    for n in range(MAX_PER_ADDRESS):
        assert _sign_in_from(staff, f"guess{n}@example.org", "guess", f"198.51.100.{n}") \
            == 401
    assert _sign_in_from(staff, email, PASSWORD, "192.0.2.200") == 429
