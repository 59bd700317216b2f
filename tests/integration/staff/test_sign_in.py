"""Signing in and out: argon2 passwords, limited attempts, CSRF, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from storage.models import SignInAttempt, utcnow
from storage.signin import MAX_PER_ACCOUNT, MAX_PER_ADDRESS, WINDOW
from web_survey.bootstrap import Services

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
