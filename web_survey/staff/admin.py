"""Administrators' pages: add sites and staff accounts."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from storage.models import Participant, Site, StaffRole, StaffUser
from storage.staff import StaffError, add_staff
from storage.uow import UnitOfWork

from . import bp
from .access import admin_page, me
from .forms import ROLE_NAMES, NewStaffForm, SiteForm, options


def _sites(uow: UnitOfWork) -> list[tuple[Site, int]]:
    counts = dict(uow.session.execute(
        select(Participant.site_id, func.count()).group_by(Participant.site_id)).all())
    sites = uow.session.scalars(select(Site).where(Site.is_tryout.is_(False))
                                .order_by(Site.code))
    return [(site, counts.get(site.id, 0)) for site in sites]


@bp.route("/admin/sites", methods=["GET", "POST"])
@admin_page
def admin_sites(uow: UnitOfWork) -> ResponseReturnValue:
    """Every site with its number of participants; add a site."""
    form = SiteForm()
    problems: list[str] = []
    if form.validate_on_submit():
        code = form.code.data.strip().upper()
        if not code.replace("-", "").isalnum():
            problems.append("The site code may hold only letters, digits and -.")
        elif uow.repo.site(code) is not None:
            problems.append(f"There is already a site {code}.")
        else:
            uow.session.add(Site(code=code, name=form.name.data.strip(),
                                 contact_text=" ".join((form.contact_text.data or "").split())))
            uow.repo.audit(me().email, "site_add", code)
            uow.commit()
            flash(f"Site {code} is added.", "success")
            return redirect(url_for("staff.admin_sites"))
    errors = form.summary(problems)
    return render_template("staff/admin_sites.html", form=form, errors=errors,
                           sites=_sites(uow)), 400 if errors else 200


@bp.route("/admin/staff", methods=["GET", "POST"])
@admin_page
def admin_staff(uow: UnitOfWork) -> ResponseReturnValue:
    """Every staff account; add one."""
    sites = list(uow.session.scalars(select(Site).where(Site.is_tryout.is_(False))
                                     .order_by(Site.code)))
    form = NewStaffForm()
    form.site.choices = options([("", "No site (administrators only)")] + [
        (s.code, f"{s.code}: {s.name}") for s in sites])
    problems: list[str] = []
    if form.validate_on_submit():
        site = uow.repo.site(form.site.data) if form.site.data else None
        try:
            user = add_staff(uow.repo, form.email.data, form.password.data, site,
                             actor=me().email, role=StaffRole(form.role.data))
        except StaffError as error:
            problems.append(f"{str(error).capitalize()}.")
        else:
            uow.commit()
            flash(f"{user.email} can now sign in.", "success")
            return redirect(url_for("staff.admin_staff"))
    users = list(uow.session.scalars(select(StaffUser).order_by(StaffUser.email)))
    errors = form.summary(problems)
    return render_template("staff/admin_staff.html", form=form, errors=errors,
                           users=users, role_names=ROLE_NAMES), 400 if errors else 200
