"""Signing in and out of the staff area, with attempts limited per account and address."""

from __future__ import annotations

import math

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from storage.models import Site, StaffUser, utcnow
from storage.signin import attempt_succeeded, begin_attempt, locked_until, refuse_attempt
from storage.staff import check_password, end_sessions, hash_password

from ..bootstrap import services
from . import bp
from .access import StaffPrincipal, me
from .forms import SignInForm

# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_NOBODY = StaffUser(email="", password_hash=hash_password("not a real password at all"))


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the staff area: never send someone to another site."""
    if target and target.startswith("/staff") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return None


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """The sign-in page. Too many wrong tries lock the account (and the address) a while."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = SignInForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr or ""
        now = utcnow()
        with services().uow() as uow:
            # Counted (and committed) before the lock is checked: see storage/signin.py.
            attempt = begin_attempt(uow.session, email, address, now)
            uow.commit()
        with services().uow() as uow:
            until = locked_until(uow.session, email, address, now, attempt)
            if until is not None:
                refuse_attempt(uow.session, attempt)
                uow.commit()
                minutes = max(1, math.ceil((until - now).total_seconds() / 60))
                problems.append(
                    f"There have been too many tries to sign in. Wait {minutes} "
                    f"minute{'s' if minutes != 1 else ''}, then try again. If you forgot "
                    "your password, ask your administrator to reset it.")
                status = 429
            else:
                user = uow.session.scalar(select(StaffUser).where(StaffUser.email == email))
                good = (check_password(user or _NOBODY, form.password.data)
                        and user is not None and user.active)
                if good:
                    attempt_succeeded(uow.session, attempt)
                uow.commit()
                if good and user is not None:
                    session.clear()  # nothing from before sign-in carries over
                    login_user(StaffPrincipal.of(user))
                    return redirect(_safe_next(request.args.get("next")) or url_for("staff.home"))
                problems.append("The email address or password is not right.")
                status = 401
    elif form.errors:
        status = 400
    return render_template("staff/sign_in.html", form=form,
                           errors=form.summary(problems)), status


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    """Sign out (a POST with the CSRF token, so another site cannot sign you out).

    Every copy of the session ends, here and on any other device: a cookie copied
    before signing out opens nothing afterwards.
    """
    with services().uow() as uow:
        end_sessions(uow.session, me().id)
        uow.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("staff.sign_in"))


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    """Site staff go to their dashboard, interviewers to their interviews;
    administrators choose a site."""
    person = me()
    if person.is_interviewer:
        return redirect(url_for("staff.interviews", site_code=person.site_code))
    if not person.is_admin:
        return redirect(url_for("staff.dashboard", site_code=person.site_code))
    with services().uow() as uow:
        sites = list(uow.session.scalars(
            select(Site).where(Site.is_tryout.is_(False)).order_by(Site.code)))
        return render_template("staff/home.html", sites=sites)


@bp.errorhandler(CSRFError)
def _expired(error: CSRFError) -> ResponseReturnValue:
    return render_template("staff/error.html", title="This form has expired",
                           message="Go back, reload the page and try again."), 400


@bp.errorhandler(403)
def _forbidden(error: Exception) -> ResponseReturnValue:
    return render_template("staff/error.html", title="You cannot see this page",
                           message="Your account cannot use this page. Ask your administrator "
                                   "if you need it."), 403


@bp.errorhandler(404)
def _not_found(error: Exception) -> ResponseReturnValue:
    return render_template("staff/error.html", title="Page not found",
                           message="Check the address, or go back to your dashboard."), 404
