"""A site's audit log, for its staff and administrators to read: never to change.

Every line the product writes for the site is here (exports, erasures, consent
changes, invitations, edits, interviews started and finished, case-study packs;
recordings played have their name ready for when they are written), newest first,
filtered by
a date range and by what happened. The page answers GET only and has no form that
writes: the filters are a GET form, so nobody can change the log from the staff area.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from wtforms import SelectField

from storage.models import AuditEntry, Site
from storage.uow import UnitOfWork

from ..periods import day_start, site_zone
from . import bp
from .access import site_page
from .forms import DateRangeForm, options

PAGE = 100
ACTION_NAMES = {
    "export": "Data downloaded (export)",
    "erase": "Participant erased",
    "opt_out": "Consent withdrawn: asked us to stop",
    "opt_in": "Consent given again: agreed to hear from us",
    "consent": "Consent changed",
    "interview": "Interview",
    "case_pack": "Case-study pack downloaded",
    "recording_played": "Recording played",
    "participant_add": "Participant added",
    "participant_import": "Participants imported",
    "participant_edit": "Participant's details changed",
    "invite": "Invitations sent",
    "remind": "Reminders sent",
    "round": "Sent by the schedule (held invitations, reminders)",
    "fallback": "Next channel tried",
    "digest_sent": "Weekly email of figures sent",
    "flag_handled": "Worrying answer handled",
    "site_settings": "Site settings changed",
    "site_add": "Site added",
    "staff_add": "Staff member added",
    "staff_password": "Staff member's password changed",
    "staff_disable": "Staff account disabled",
    "staff_enable": "Staff account enabled again",
}
DETAIL_NAMES = {"participant": "participant", "format": "format", "wave": "wave",
                "rows": "rows", "count": "how many", "channel": "channel",
                "fields": "changed", "drop_free_text": "written answers left out",
                "shift_dates": "dates shifted", "survey": "survey", "flag": "flag",
                "after": "after", "why": "why", "sent": "sent", "reminded": "reminded",
                "fallback": "fallback order", "week": "week from",
                "email": "account", "stage": "interview",
                "audio": "recordings included"}


def action_name(action: str) -> str:
    """What happened, in words (an action the page does not know is shown as it is)."""
    return ACTION_NAMES.get(action, action.replace("_", " ").capitalize())


def describe(detail: dict[str, object]) -> str:
    """The line's details as "name: value" pairs ("participant: CAL-0001; rows: 12")."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{DETAIL_NAMES.get(key, key.replace('_', ' '))}: {value}")
    return "; ".join(parts)


class AuditFilterForm(DateRangeForm):
    """The filters, read from the query string: a date range and what happened."""

    action = SelectField("What happened", default="")


def _query(site: Site, form: AuditFilterForm, zone: ZoneInfo) -> Select[Any]:
    query = select(AuditEntry).where(AuditEntry.site_code == site.code)
    if form.start.data:
        query = query.where(AuditEntry.at >= day_start(form.start.data, zone))
    if form.end.data:
        query = query.where(AuditEntry.at < day_start(form.end.data + timedelta(days=1), zone))
    if form.action.data:
        query = query.where(AuditEntry.action == form.action.data)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


@bp.get("/sites/<site_code>/audit")
@site_page
def audit_log(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """The site's audit log, newest first, a page at a time."""
    zone = site_zone(current_app.config)
    form = AuditFilterForm(formdata=request.args)
    seen = set(uow.session.scalars(select(AuditEntry.action).distinct().where(
        AuditEntry.site_code == site.code)))
    known = [(action, name) for action, name in ACTION_NAMES.items() if action in seen]
    others = sorted((a, action_name(a)) for a in seen if a not in ACTION_NAMES)
    form.action.choices = options([("", "Everything"), *known, *others])
    valid = form.validate() if request.args else True
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries: list[AuditEntry] = []
    more = False
    if valid:
        entries = list(uow.session.scalars(
            _query(site, form, zone).offset((page - 1) * PAGE).limit(PAGE + 1)))
        more = len(entries) > PAGE
        entries = entries[:PAGE]
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    rows = [{"at": _local(entry.at, zone), "actor": entry.actor,
             "action": action_name(entry.action), "detail": describe(entry.detail or {})}
            for entry in entries]
    newer = (url_for("staff.audit_log", site_code=site.code, **filters, page=page - 1)
             if page > 1 else None)
    older = (url_for("staff.audit_log", site_code=site.code, **filters, page=page + 1)
             if more else None)
    status = 200 if valid else 400
    return render_template("staff/audit.html", site=site, form=form, rows=rows,
                           errors=form.summary(), zone=zone.key, page=page, newer=newer,
                           older=older, filtered=bool(filters)), status


def _local(moment: datetime, zone: ZoneInfo) -> str:
    """An audit time in the site's time zone (SQLite hands back naive UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%d %b %Y %H:%M")
