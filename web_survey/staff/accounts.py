"""Staff accounts from the staff area: change your own password, and disable a
colleague's account (site staff, for their own site) or enable it again (administrators).

Each ends sessions through ``storage.staff``: a new password ends every other session of
that person at once, a disabled account's every session ends and it cannot sign in.
"""

from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user
from sqlalchemy import select

from storage.models import Site, StaffUser, utcnow
from storage.signin import attempt_succeeded, begin_attempt, locked_until, refuse_attempt
from storage.staff import (
    StaffError,
    check_password,
    disable_staff,
    enable_staff,
    set_password,
)
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import StaffPrincipal, me, site_page
from .forms import AccountAccessForm, ChangePasswordForm


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change your own password (the current one first); you stay signed in here and
    are signed out on every other computer and phone.

    A wrong current password counts as a wrong sign-in (``storage.signin``), so a
    session in the wrong hands cannot be used to guess the password behind it.
    """
    form = ChangePasswordForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        email, address, now = me().email, request.remote_addr or "", utcnow()
        with services().uow() as uow:
            attempt = begin_attempt(uow.session, email, address, now)
            uow.commit()
        with services().uow() as uow:
            until = locked_until(uow.session, email, address, now, attempt)
            user = uow.session.get(StaffUser, me().id)
            if user is None:
                abort(404)
            if until is not None:
                refuse_attempt(uow.session, attempt)
                minutes = max(1, math.ceil((until - now).total_seconds() / 60))
                problems.append(f"There have been too many wrong passwords. Wait {minutes} "
                                f"minute{'s' if minutes != 1 else ''}, then try again.")
                status = 429
            elif not check_password(user, form.current.data):
                problems.append("Your current password is not right.")
            else:
                attempt_succeeded(uow.session, attempt)
                try:
                    set_password(uow.repo, user, form.password.data, actor=user.email)
                except StaffError as error:
                    problems.append(f"{str(error).capitalize()}.")
                else:
                    uow.commit()
                    uow.session.refresh(user)
                    login_user(StaffPrincipal.of(user))  # this session, at the new version
                    flash("Your password is changed. You are signed out on every other "
                          "computer and phone.", "success")
                    return redirect(url_for("staff.home"))
            uow.commit()
    errors = form.summary(problems)
    if errors and status == 200:
        status = 400
    return render_template("staff/password.html", form=form, errors=errors), status


def _site_accounts(uow: UnitOfWork, site: Site) -> list[StaffUser]:
    return list(uow.session.scalars(select(StaffUser).where(StaffUser.site_id == site.id)
                                    .order_by(StaffUser.email)))


@bp.route("/sites/<site_code>/staff", methods=["GET", "POST"])
@site_page
def site_staff(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """The site's staff accounts. Anyone at the site may disable a colleague's account
    (someone has left, a phone is lost); only an administrator may enable one again."""
    form = AccountAccessForm()
    if form.validate_on_submit():
        user = uow.session.scalar(select(StaffUser).where(
            StaffUser.email == form.email.data, StaffUser.site_id == site.id))
        if user is None or form.action.data not in ("disable", "enable"):
            abort(404)
        if form.action.data == "enable":
            if not me().is_admin:
                abort(403)
            enable_staff(uow.repo, user, actor=me().email)
            flash(f"{user.email} can sign in again.", "success")
        elif user.id == me().id:
            flash("You cannot disable your own account here. To leave, sign out.", "error")
            return redirect(url_for("staff.site_staff", site_code=site.code))
        else:
            disable_staff(uow.repo, user, actor=me().email)
            flash(f"{user.email} is signed out everywhere and cannot sign in.", "success")
        uow.commit()
        return redirect(url_for("staff.site_staff", site_code=site.code))
    return render_template("staff/site_staff.html", site=site, accounts=_site_accounts(uow, site))
