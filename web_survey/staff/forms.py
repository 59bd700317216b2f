"""The staff area's forms. Flask-WTF adds the CSRF token to each one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from bot.engine import Need
from bot.service.reach import (
    LONGEST_WAIT_DAYS,
    MOST_REMINDERS,
    SettingError,
    fallback_order,
)
from storage.enrolment import KNOWN_NEEDS
from storage.models import StaffRole
from storage.staff import MIN_PASSWORD

CHANNEL_NAMES = {"sms": "Text message (SMS)", "voice": "Phone call",
                 "telegram": "Telegram", "web": "Web link", "whatsapp": "WhatsApp"}
# The send form's default: each person on the channel they prefer (bot.service.reach).
OWN_CHANNEL = ""
TYPE_NAMES = {"individual": "Person with a learning disability",
              "family": "Family member or carer", "professional": "Health professional"}
WAVE_NAMES = {"baseline": "Baseline", "exit": "Exit"}


def options(pairs: dict[str, str] | list[tuple[str, str]]) -> list[SelectChoice]:
    """Choices for a radio, checkbox or select field from (value, label) pairs."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


CHANNEL_CHOICES = options(CHANNEL_NAMES)


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes (the template draws them inside a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StaffForm(FlaskForm):
    """A form that can list its errors for the page's error summary."""

    def summary(self, extra: list[str] | None = None) -> list[tuple[str, str]]:
        """(anchor id, message) for every error, in the order the fields appear."""
        found: list[tuple[str, str]] = []
        for field in self:
            if field.errors and field.name != "csrf_token":
                choices = isinstance(field, RadioField | MultiCheckboxField)
                anchor = f"{field.id}-0" if choices else field.id
                found.extend((anchor, str(message)) for message in field.errors)
        found.extend(("", message) for message in extra or [])
        return found


class DateRangeForm(StaffForm):
    """From and To dates, read from the query string (a GET form: no CSRF token needed).
    Either may be left empty."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("The 'To' date must be the same as or after the 'From' "
                                  "date")


class SignInForm(StaffForm):
    email = StringField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


# What each need changes, channel by channel: shown on the participant form.
NEED_LABELS = {
    Need.EASY_READ: "Easy read: pictures, Listen buttons and bigger text on the web page",
    Need.AUDIO_FIRST: "Listens first: the Listen button comes first and biggest on the web "
                      "page; a text message invitation offers a phone call",
    Need.SLOW_SPEECH: "Slow speech: a slower voice on phone calls, Telegram voice notes and "
                      "web Listen buttons",
    Need.LARGE_PRINT: "Large print: bigger text, buttons and pictures on the web page",
    Need.NO_PICTURES: "No pictures: none on the web page or on Telegram buttons",
    Need.NO_AUDIO: "No sound: no Listen buttons on the web page, no Telegram voice notes",
    Need.PICTURES: "Pictures: pictures beside the answers on the web page",
    Need.SUPPORTER: "Answers with a supporter: the text message invitation, the start of "
                    "a phone call and the printed card say the survey is for the person "
                    "they support",
}


class ParticipantFields(StaffForm):
    """What every participant form asks: how to reach the person and what they need."""

    cohort = StringField("Cohort (optional)", validators=[Optional(), Length(max=40)])
    language = StringField("Language code", default="en",
                           validators=[DataRequired("Enter a language code, such as en")])
    phone = StringField("Mobile phone number (optional)", validators=[Optional()])
    preferred_channel = RadioField("How should we contact them?", choices=CHANNEL_CHOICES,
                                   default="web")
    needs = MultiCheckboxField("Communication needs (optional)",
                               choices=options([(n, NEED_LABELS[n]) for n in KNOWN_NEEDS]))


class NewParticipantForm(ParticipantFields):
    code = StringField("Participant code", validators=[DataRequired("Enter a participant code")])
    respondent_type = RadioField("Who is this?", choices=options(TYPE_NAMES),
                                 validators=[DataRequired("Choose who this is")])


class EditParticipantForm(ParticipantFields):
    phone = StringField("New mobile phone number (optional)", validators=[Optional()])
    taking_part = RadioField(
        "Taking part", choices=options([("yes", "Taking part"),
                                        ("no", "Asked us to stop: send them nothing")]),
        default="yes")


class ImportForm(StaffForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import")])


class SurveyUploadForm(StaffForm):
    file = FileField("Survey file", validators=[
        FileRequired("Choose a survey file (.yaml) or workbook (.xlsx) to publish")])
    reason = TextAreaField("Why the wording must stay (only if the check finds problems)",
                           validators=[Length(max=2000)])


class PlanUploadForm(StaffForm):
    file = FileField("Plan file", validators=[FileRequired("Choose a plan file (.yaml)")])


class InviteForm(StaffForm):
    wave = RadioField("Wave", choices=options(WAVE_NAMES), default="baseline")
    # None ticked: everyone the timepoint is for (bot.service.reach.audience).
    types = MultiCheckboxField("Who to invite (optional)", choices=options(TYPE_NAMES))
    channel = RadioField("Send by", choices=[*options({OWN_CHANNEL: "Each person's own channel"}),
                                             *CHANNEL_CHOICES], default=OWN_CHANNEL)


class ExportForm(StaffForm):
    fmt = RadioField("Format", validators=[DataRequired("Choose a format")])
    survey = RadioField("Survey", default="")
    # The site's timepoints and entry types: the view sets the choices from its plan.
    wave = RadioField("Timepoint", default="")
    start = RadioField("Paired CSV: from", default="")
    end = RadioField("Paired CSV: to", default="")
    drop_free_text = BooleanField("Leave out written and recorded answers")
    shift_dates = BooleanField("Shift each participant's dates by a random number of days")


class SettingsForm(StaffForm):
    contact_text = TextAreaField(
        "Who to call if someone is in danger",
        validators=[DataRequired("Enter who a person in danger should call"),
                    Length(max=300)])
    safeguarding_lead = StringField(
        "Named person who reviews worrying answers",
        validators=[DataRequired("Enter the named person who reviews worrying answers"),
                    Length(max=120)])
    worrying_words = TextAreaField("Worrying words and phrases, one on each line",
                                   validators=[Length(max=5000)])
    fallback_order = StringField("Channels to try in turn", validators=[Length(max=100)])
    remind_after_days = IntegerField(
        "Remind people after this many days",
        validators=[InputRequired("Enter how many days to wait before a reminder"),
                    NumberRange(1, LONGEST_WAIT_DAYS,
                                f"Enter a number of days from 1 to {LONGEST_WAIT_DAYS}")])
    remind_most = IntegerField(
        "Reminders at most",
        validators=[InputRequired("Enter how many reminders to send at most"),
                    NumberRange(0, MOST_REMINDERS,
                                f"Enter a number of reminders from 0 to {MOST_REMINDERS}")])

    def validate_fallback_order(self, field: StringField) -> None:
        """The order must name channels there are, each once (``bot.service.reach``)."""
        try:
            fallback_order(field.data or "")
        except SettingError as error:
            raise ValidationError(f"Channels to try in turn: {error}") from error


class FlagForm(StaffForm):
    note = TextAreaField("What was done (optional)", validators=[Length(max=2000)])


class TranscriptForm(StaffForm):
    transcript = TextAreaField("What the recording says", validators=[
        DataRequired("Type what the recording says, or paste it"), Length(max=20000)])


class SiteForm(StaffForm):
    code = StringField("Site code", validators=[
        DataRequired("Enter a site code"), Length(max=16)])
    name = StringField("Site name", validators=[DataRequired("Enter the site name"),
                                                Length(max=120)])
    contact_text = TextAreaField("Who to call if someone is in danger",
                                 validators=[Length(max=300)])


# What each staff role may do, as the admin page offers them.
ROLE_CHOICES = options([
    (StaffRole.LEAD.value, "Lead: everything at their site"),
    (StaffRole.INTERVIEWER.value, "Interviewer: interviews with their site's participants, "
                                  "nothing else"),
    (StaffRole.ADMIN.value, "Administrator: every site, and its staff"),
])
ROLE_NAMES = {StaffRole.LEAD.value: "Lead", StaffRole.INTERVIEWER.value: "Interviewer",
              StaffRole.ADMIN.value: "Administrator"}


def password_fields(what: str = "password") -> tuple[PasswordField, PasswordField]:
    """A password to set and the same again (fields ``password`` and ``confirm``), their
    labels and messages naming it ``what`` ("password", "new password")."""
    password = PasswordField(what.capitalize(), validators=[
        DataRequired(f"Enter a {what}"),
        Length(min=MIN_PASSWORD, message=f"The password needs {MIN_PASSWORD} characters or more")])
    confirm = PasswordField(f"{what.capitalize()} again", validators=[
        DataRequired(f"Enter the {what} again"),
        EqualTo("password", f"The two {what}s are not the same")])
    return password, confirm


class NewStaffForm(StaffForm):
    email = StringField("Email address", validators=[DataRequired("Enter an email address")])
    site = SelectField("Site", choices=[], validate_choice=True)
    role = RadioField("Role", choices=ROLE_CHOICES, default=StaffRole.LEAD.value)
    password, confirm = password_fields()


class ChangePasswordForm(StaffForm):
    current = PasswordField("Your current password",
                            validators=[DataRequired("Enter your current password")])
    password, confirm = password_fields("new password")


class AccountAccessForm(StaffForm):
    """Disable (or, for administrators, enable) one staff account: a button per row."""

    email = HiddenField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired()])
