"""A site's dashboard (response rates, answers per question, safeguarding flags) and
its settings (who to call, the named reviewer, the worrying words)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.engine import RESPONDENT_TYPES, WAVES, WHO_ANSWERED
from bot.engine.safeguarding import word_list
from storage.models import Site, utcnow
from storage.reports import (
    FUNNEL,
    Filters,
    funnel,
    handled_flags,
    open_flags,
    question_counts,
    untranscribed,
)
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import flag_of, me, site_page
from .charts import bar_chart, rows
from .forms import CHANNEL_NAMES, TYPE_NAMES, FlagForm, SettingsForm

WHO_NAMES = {"self": "The person on their own", "supported": "The person with help",
             "family_carer": "Family member or carer", "professional": "Professional"}


def _choice(name: str, allowed: tuple[str, ...] | list[str], default: str = "") -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default


@bp.get("/sites/<site_code>/")
@site_page
def dashboard(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Response rates for the chosen wave, charts for each question, open flags."""
    filters = Filters(
        wave=_choice("wave", WAVES, "baseline"),
        respondent_type=_choice("type", RESPONDENT_TYPES),
        channel=_choice("channel", list(CHANNEL_NAMES)),
        who_answered=_choice("who", WHO_ANSWERED),
    )
    library = services().surveys
    surveys = [library.for_respondent(kind) for kind in RESPONDENT_TYPES
               if not filters.respondent_type or kind == filters.respondent_type]
    charts = [(survey, [(summary, rows(summary),
                         bar_chart(summary, f"chart-{survey.id}-{summary.question.id}"))
                        for summary in question_counts(uow.session, site, survey, filters)])
              for survey in surveys]
    return render_template(
        "staff/dashboard.html", site=site, filters=filters, funnel=funnel(uow.session, site,
                                                                          filters),
        columns=FUNNEL, charts=charts, flags=open_flags(uow.session, site),
        unheard=untranscribed(uow.session, site),
        handled=handled_flags(uow.session, site), flag_form=FlagForm(),
        type_names=TYPE_NAMES, channel_names=CHANNEL_NAMES, who_names=WHO_NAMES)


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
        uow.repo.audit(me().email, "flag_handled", site.code, flag=flag.id,
                       participant=flag.participant.code)
        uow.commit()
        flash(f"The flag for {flag.participant.code} is marked as handled.", "success")
    return redirect(url_for("staff.dashboard", site_code=site.code) + "#flags")


@bp.route("/sites/<site_code>/settings", methods=["GET", "POST"])
@site_page
def settings(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """The site's safeguarding settings, editable by its own staff."""
    form = SettingsForm(obj=site)
    if form.validate_on_submit():
        site.contact_text = " ".join(form.contact_text.data.split())
        site.safeguarding_lead = form.safeguarding_lead.data.strip()
        site.worrying_words = "\n".join(word_list(form.worrying_words.data or ""))
        uow.repo.audit(me().email, "site_settings", site.code,
                       words=len(word_list(site.worrying_words)))
        uow.commit()
        flash("The settings are saved.", "success")
        return redirect(url_for("staff.settings", site_code=site.code))
    return render_template("staff/settings.html", site=site, form=form,
                           errors=form.summary()), 400 if form.errors else 200
