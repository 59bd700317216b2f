"""A site's own surveys and plan: the versions published, uploading a new one, and a
preview of each version as every channel presents it.

Uploading runs the same publishing use case as ``nsw-feedback survey publish`` and
``plan publish`` (``bot.service.publishing``): the same checks, refusals, versions and
audit lines, with the signed-in person as the publisher. A site's leads publish for
their own site, administrators for any; interviewers cannot (``site_page`` answers 403).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.service.publishing import Published, PublishRefused
from bot.service.reach import planned_types
from storage.models import Site, SurveyVersion
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import me, site_page
from .forms import TYPE_NAMES, PlanUploadForm, SurveyUploadForm
from .preview import preview

REASON_HINT = ("Fix the wording and upload the file again, or give a reason below saying "
               "why it must stay. The reason is kept in the audit log.")


@bp.get("/sites/<site_code>/surveys")
@site_page
def surveys(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Every survey version the site uses, and its plan."""
    publishing = services().publishing
    plan, plan_version = publishing.plan(site.code)
    # Whom each timepoint is for (bot.service.reach: its for, or everyone).
    whom = {t.name: ", ".join(TYPE_NAMES[kind] for kind in planned_types(t)) or "Everyone"
            for t in plan.timepoints}
    return render_template("staff/surveys.html", site=site,
                           versions=publishing.versions(site.code), plan=plan,
                           plan_version=plan_version, type_names=TYPE_NAMES, whom=whom)


def _uploaded(form: SurveyUploadForm | PlanUploadForm) -> tuple[str, bytes]:
    upload = form.file.data
    return upload.filename or "upload", upload.read()


def _done(site: Site, done: Published, what: str) -> ResponseReturnValue:
    if not done.changed:
        flash(f"The {what} is the same as version {done.version}: nothing new was "
              "published.", "info")
    else:
        kept = (f" with {len(done.overridden)} easy-read problems kept for the reason given"
                if done.overridden else "")
        flash(f"Published {what} version {done.version}{kept}.", "success")
    return redirect(url_for("staff.surveys", site_code=site.code))


@bp.route("/sites/<site_code>/surveys/publish", methods=["GET", "POST"])
@site_page
def survey_publish(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Upload a survey file (YAML or an XLSForm-style workbook) and publish it."""
    form = SurveyUploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        name, data = _uploaded(form)
        try:
            done = services().publishing.publish_survey_upload(
                site.code, name, data, me().email, form.reason.data or "")
        except PublishRefused as error:
            problems = error.problems
            if error.needs_reason:
                form.reason.errors = [REASON_HINT]
        else:
            return _done(site, done, f"survey {done.name}")
    errors = form.summary(problems)
    return render_template("staff/survey_publish.html", site=site, form=form,
                           errors=errors), 400 if errors else 200


@bp.route("/sites/<site_code>/plan/publish", methods=["GET", "POST"])
@site_page
def plan_publish(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Upload a plan file and publish it as the site's plan."""
    form = PlanUploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        name, data = _uploaded(form)
        try:
            done = services().publishing.publish_plan_upload(site.code, name, data,
                                                             me().email)
        except PublishRefused as error:
            problems = error.problems
        else:
            return _done(site, done, "plan")
    errors = form.summary(problems)
    return render_template("staff/plan_publish.html", site=site, form=form,
                           errors=errors), 400 if errors else 200


@bp.get("/sites/<site_code>/surveys/<int:version_id>")
@site_page
def survey_preview(uow: UnitOfWork, site: Site, version_id: int) -> ResponseReturnValue:
    """One version, question by question, as each channel presents it."""
    row = uow.session.scalar(select(SurveyVersion).where(
        SurveyVersion.id == version_id,
        (SurveyVersion.site_id == site.id) | SurveyVersion.site_id.is_(None)))
    if row is None:
        abort(404)
    survey = services().conversations.catalogue.version(uow.session, row.id, row.survey_id)
    language = request.args.get("language", "")
    if language not in survey.languages:
        language = survey.languages[0]
    return render_template("staff/survey_preview.html", site=site, row=row, survey=survey,
                           language=language, questions=preview(survey, language))
