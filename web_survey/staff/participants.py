"""A site's participants: list, add, import a CSV, edit (with their recordings), erase."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.service.reach import planned_types
from content.plan import Plan
from storage.enrolment import (
    EnrolmentError,
    add_participant,
    delete_recordings,
    erase,
    import_csv,
    update_participant,
)
from storage.models import RECORDING_PREFIX, KeptMessage, Participant, Site
from storage.reports import flags_of
from storage.timeline import participant_timeline, site_progress
from storage.uow import UnitOfWork

from ..bootstrap import services
from . import bp
from .access import me, participant_of, site_page
from .case_packs import PREFIX as PACK_PREFIX
from .case_packs import CasePackForm
from .dashboard import timepoint_names
from .forms import (
    CHANNEL_NAMES,
    TYPE_NAMES,
    EditParticipantForm,
    ImportForm,
    NewParticipantForm,
    StaffForm,
)


@dataclass(frozen=True)
class Column:
    """A column of the participants list: a timepoint of the site's plan (each person's
    status at it) or a recurring pulse or entry type (how many they answered)."""

    name: str
    label: str
    counted: str = ""  # what a count is of ("answered", "entries"); "" for a status
    types: tuple[str, ...] = ()  # the respondent types it is for; empty: everyone


def plan_columns(plan: Plan, names: dict[str, str]) -> list[Column]:
    """One column per timepoint of ``plan`` (``names``: each one's name for staff), in
    its order, then one per entry type."""
    return ([Column(t.name, names[t.name], "answered" if t.every_days else "",
                    planned_types(t)) for t in plan.timepoints]
            + [Column(e.name, e.name.replace("-", " ").capitalize(), "entries")
               for e in plan.entries])


def progress(column: Column, person: Participant, found: Counter[str]) -> str:
    """What a person's cell in ``column`` says: their status at a one-off timepoint
    (one for each person a family member or professional answers about), or how many
    pulses or entries they answered."""
    if column.types and person.respondent_type not in column.types:
        return "Not for them"
    if column.counted == "entries":
        done = found["completed"]
        return f"{done} {'entry' if done == 1 else 'entries'}"
    if column.counted:
        return f"{found['completed']} answered"
    if person.opted_out:
        return "Asked us to stop"
    if not found:
        return "Not started"
    if sum(found.values()) == 1:
        return next(iter(found)).replace("_", " ").capitalize()
    return ", ".join(f"{count} {status.replace('_', ' ')}"
                     for status, count in sorted(found.items())).capitalize()


@bp.get("/sites/<site_code>/participants")
@site_page
def participants(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Everyone at the site, with where each stands at each timepoint of the site's
    plan, and how many pulses and entries each answered."""
    plan = services().conversations.catalogue.plan(uow.session, site.id)
    columns = plan_columns(plan, timepoint_names(uow, site, plan))
    found = site_progress(uow.session, site.id)
    cells = {person.id: [progress(column, person, found.at(person, column.name))
                         for column in columns] for person in found.people}
    return render_template("staff/participants.html", site=site, people=found.people,
                           columns=columns, cells=cells, type_names=TYPE_NAMES,
                           channel_names=CHANNEL_NAMES)


@bp.route("/sites/<site_code>/participants/new", methods=["GET", "POST"])
@site_page
def participant_new(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Add one participant."""
    form = NewParticipantForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            person = add_participant(
                uow.repo, site, code=form.code.data, respondent_type=form.respondent_type.data,
                cohort=form.cohort.data or "", language=form.language.data,
                phone=form.phone.data or "", preferred_channel=form.preferred_channel.data,
                needs=";".join(form.needs.data or []))
        except EnrolmentError as error:
            problems.append(f"Check the details: {error}.")
        else:
            uow.repo.audit(me().email, "participant_add", site.code, participant=person.code)
            uow.commit()
            flash(f"{person.code} is added.", "success")
            return redirect(url_for("staff.participants", site_code=site.code))
    return _form_page("staff/participant_new.html", site, form, problems)


def _form_page(template: str, site: Site, form: StaffForm, problems: list[str],
               **context: object) -> ResponseReturnValue:
    errors = form.summary(problems)
    return render_template(template, site=site, form=form, errors=errors,
                           **context), 400 if errors else 200


@bp.route("/sites/<site_code>/participants/import", methods=["GET", "POST"])
@site_page
def participant_import(uow: UnitOfWork, site: Site) -> ResponseReturnValue:
    """Import a CSV file: every row is checked, and any problem means none are added."""
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            text = form.file.data.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append("The file is not a CSV file saved as UTF-8 text.")
        else:
            result = import_csv(uow.repo, site, text)
            if result.errors:
                uow.rollback()
                problems.append("Nothing was imported. Fix these rows and import the "
                                "whole file again:")
                problems.extend(result.errors)
            else:
                uow.repo.audit(me().email, "participant_import", site.code,
                               count=len(result.added))
                uow.commit()
                flash(f"{len(result.added)} participants are imported.", "success")
                return redirect(url_for("staff.participants", site_code=site.code))
    return _form_page("staff/participant_import.html", site, form, problems)


@bp.route("/sites/<site_code>/participants/<code>", methods=["GET", "POST"])
@site_page
def participant_edit(uow: UnitOfWork, site: Site, code: str) -> ResponseReturnValue:
    """Change a person's language, channel, needs, phone number or consent."""
    person = participant_of(uow, site, code)
    form = EditParticipantForm(
        data={"cohort": person.cohort, "language": person.language,
              "preferred_channel": person.preferred_channel, "needs": person.need_list,
              "taking_part": "no" if person.opted_out else "yes"})
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            changed = update_participant(
                uow.repo, person, language=form.language.data,
                channel=form.preferred_channel.data, needs=form.needs.data or [],
                cohort=form.cohort.data or "", phone=form.phone.data or "")
        except EnrolmentError as error:
            problems.append(f"Check the details: {error}.")
        else:
            if changed:
                uow.repo.audit(me().email, "participant_edit", site.code,
                               participant=person.code, fields=changed)
            uow.commit()
            opted_out = form.taking_part.data == "no"
            if opted_out != person.opted_out:
                # Consent changes go through the conversation service, which audits them
                # and closes (or reopens) the person's current survey.
                services().conversations.opt_out(person.id, opted_out, me().email)
            flash(f"{person.code} is saved.", "success")
            return redirect(url_for("staff.participants", site_code=site.code))
    has_phone = any(c.kind == "phone" for c in person.contacts)
    kept = [(m.received_at, m.channel, uow.repo.vault.decrypt(m.secret), m.concerns)
            for m in uow.session.scalars(select(KeptMessage).where(
                KeptMessage.participant_id == person.id).order_by(KeptMessage.id))]
    timeline = participant_timeline(
        uow.session, person.id, services().conversations.catalogue.plan(uow.session, site.id))
    return _form_page("staff/participant_edit.html", site, form, problems, person=person,
                      has_phone=has_phone, type_names=TYPE_NAMES, kept=kept, timeline=timeline,
                      flags=flags_of(uow.session, person.id), recording_prefix=RECORDING_PREFIX,
                      pack_form=CasePackForm(prefix=PACK_PREFIX),
                      recordings=services().listening.of_participant(person.id),
                      channel_names=CHANNEL_NAMES,
                      asked=_questions(person.respondent_type))



def _questions(respondent_type: str) -> dict[str, str]:
    """Question id -> its label, in the person's kind of survey, to name what a
    recording answers."""
    survey = services().surveys.for_respondent(respondent_type)
    return {question.id: question.label for question in survey.questions}


@bp.route("/sites/<site_code>/participants/<code>/erase", methods=["GET", "POST"])
@site_page
def participant_erase(uow: UnitOfWork, site: Site, code: str) -> ResponseReturnValue:
    """Ask to confirm, then erase the person: contacts, answers, recordings, flags."""
    person = participant_of(uow, site, code)
    form = StaffForm()
    if form.validate_on_submit():
        recordings = erase(uow.repo, person, me().email)
        uow.commit()
        twilio = current_app.extensions.get("twilio")
        left = delete_recordings(current_app.config["RECORDINGS_DIR"], recordings,
                                 twilio.delete_recording if twilio else None)
        flash(f"{code.upper()} is erased. The audit log keeps only the code and the date.",
              "success")
        if left:
            flash(f"{len(left)} of their recordings could not be deleted. Ask your "
                  "administrator to delete them by hand: " + ", ".join(left), "error")
        return redirect(url_for("staff.participants", site_code=site.code))
    return render_template("staff/participant_erase.html", site=site, person=person, form=form)
