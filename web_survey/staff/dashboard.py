"""A site's dashboard (response rates, answers per question, safeguarding flags) and
its settings (who to call, the named reviewer, the worrying words)."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.engine import RESPONDENT_TYPES, WHO_ANSWERED
from bot.engine.safeguarding import word_list
from bot.service.charted import charted_surveys
from bot.service.reach import fallback_order
from content.plan import Plan
from storage.models import Site, utcnow
from storage.reports import (
    EVENTS,
    FUNNEL,
    Filters,
    answer_counts,
    figures,
    funnel,
    handled_flags,
    open_flags,
    question_counts,
    untranscribed,
)
from storage.uow import UnitOfWork

from ..bootstrap import services
from ..periods import days, last_week, site_zone
from . import bp
from .access import flag_of, me, site_page
from .charts import bar_chart, rows
from .forms import CHANNEL_NAMES, TYPE_NAMES, WAVE_NAMES, DateRangeForm, FlagForm, SettingsForm

WHO_NAMES = {"self": "The person on their own", "supported": "The person with help",
             "family_carer": "Family member or carer", "professional": "Professional"}
EVENT_NAMES = {"sent": "Invitations sent", "started": "Started", "completed": "Completed",
               "declined": "Declined", "opted_out": "Opted out"}


def _choice(name: str, allowed: tuple[str, ...] | list[str], default: str = "") -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default


def timepoint_names(uow: UnitOfWork, site: Site, plan: Plan | None = None
                    ) -> dict[str, str]:
    """The site's timepoints in its plan's order (``plan``: the site's, when the caller
    has read it), each with its name for staff."""
    plan = plan or services().conversations.catalogue.plan(uow.session, site.id)
    return {name: WAVE_NAMES.get(name, name.capitalize()) for name in plan.names}


@bp.get("/sites/<site_code>/")
@site_page
def dashboard(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Response rates for the chosen timepoint, charts across the site's timepoints,
    what happened in the chosen dates (the weekly digest's figures), open flags.

    A From/To range narrows the rates (people invited or starting in it) and the
    charts (answers given in it); without one they cover all time, and the figures
    cover the digest's week, the last seven whole days.
    """
    zone = site_zone(current_app.config)
    catalogue = services().conversations.catalogue
    plan = catalogue.plan(uow.session, site.id)
    waves = timepoint_names(uow, site, plan)
    dates = DateRangeForm(formdata=request.args)
    ranged = bool(dates.start.data or dates.end.data) and dates.validate()
    first, last = last_week(utcnow(), zone)
    if ranged:
        first = dates.start.data or date(2000, 1, 1)
        last = dates.end.data or utcnow().astimezone(zone).date()
    period = days(first, last, zone)
    filters = Filters(
        wave=_choice("wave", list(waves), next(iter(waves))),
        respondent_type=_choice("type", RESPONDENT_TYPES),
        channel=_choice("channel", list(CHANNEL_NAMES)),
        who_answered=_choice("who", WHO_ANSWERED),
        period=period if ranged else None,
    )
    answered = answer_counts(uow.session, site, list(waves), filters)
    # The site's own surveys, as its people answered them (bot.service.charted).
    surveys = charted_surveys(catalogue, uow.session, site.id, plan,
                              [filters.respondent_type] if filters.respondent_type
                              else RESPONDENT_TYPES, answered.versions)
    counted = question_counts(answered, surveys)
    charts = [(survey, [(summary, rows(summary, list(waves)),
                         bar_chart(summary, f"chart-{survey.id}-{summary.question.id}", waves))
                        for summary in counted[survey.id]])
              for survey in surveys]
    return render_template(
        "staff/dashboard.html", site=site, filters=filters, waves=waves, dates=dates,
        errors=dates.summary(), ranged=ranged, zone=zone.key, first=first, last=last,
        figures=figures(uow.session, site, period, waves), events=EVENTS,
        event_names=EVENT_NAMES, funnel=funnel(uow.session, site, filters),
        columns=FUNNEL, charts=charts, flags=open_flags(uow.session, site),
        unheard=untranscribed(uow.session, site),
        handled=handled_flags(uow.session, site), flag_form=FlagForm(),
        type_names=TYPE_NAMES, channel_names=CHANNEL_NAMES,
        who_names=WHO_NAMES), 400 if dates.errors else 200


@bp.post("/sites/<site_code>/flags/<int:flag_id>/handled")
@site_page
def flag_handled(uow: UnitOfWork, site: Site, flag_id: int) -> ResponseReturnValue:
    """Mark a safeguarding flag as handled, recording who did it and what was done."""
    flag = flag_of(uow, site, flag_id)
    form = FlagForm()
    if flag.text in untranscribed(uow.session, site):
        # No story goes unheard: a recording leaves the queue when it is written down.
        flash("Listen to the recording and write down what it says: that takes it off "
              "the list.", "error")
    elif form.validate_on_submit() and flag.handled_at is None:
        flag.handled_at = utcnow()
        flag.handled_by = me().email
        flag.handled_note = (form.note.data or "").strip()
        # An answer about someone names them too, as the queue did.
        about = {"about": flag.about.code} if flag.about else {}
        uow.repo.audit(me().email, "flag_handled", site.code, flag=flag.id,
                       participant=flag.participant.code, **about)
        uow.commit()
        whose = " about ".join((flag.participant.code, *about.values()))
        flash(f"The flag for {whose} is marked as handled.", "success")
    return redirect(url_for("staff.dashboard", site_code=site.code) + "#flags")


@bp.route("/sites/<site_code>/settings", methods=["GET", "POST"])
@site_page
def settings(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """The site's settings, editable by its own staff: safeguarding, and how people are
    reached (the fallback order and the reminder rule)."""
    form = SettingsForm(obj=site)
    if request.method == "GET":
        form.fallback_order.data = ", ".join(site.fallback_channels)
    if form.validate_on_submit():
        site.contact_text = " ".join(form.contact_text.data.split())
        site.safeguarding_lead = form.safeguarding_lead.data.strip()
        site.worrying_words = "\n".join(word_list(form.worrying_words.data or ""))
        site.fallback_order = ",".join(fallback_order(form.fallback_order.data or ""))
        site.remind_after_days = form.remind_after_days.data
        site.remind_most = form.remind_most.data
        uow.repo.audit(me().email, "site_settings", site.code,
                       words=len(word_list(site.worrying_words)),
                       fallback=site.fallback_order or "none",
                       remind_after_days=site.remind_after_days,
                       remind_most=site.remind_most)
        uow.commit()
        flash("The settings are saved.", "success")
        return redirect(url_for("staff.settings", site_code=site.code))
    return render_template("staff/settings.html", site=site, form=form,
                           errors=form.summary(), channel_names=CHANNEL_NAMES
                           ), 400 if form.errors else 200
