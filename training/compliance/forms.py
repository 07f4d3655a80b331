"""Forms for HR's compliance pages: the people filter (GET) and requirement rules (POST)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from training.compliance import rules
from training.compliance.people import NON_COMPLIANT_FILTER
from training.form_widgets import QuickSelect, QuickTextInput

STATUS_CHOICES = [
    SelectChoice("", "Any status"),
    SelectChoice(NON_COMPLIANT_FILTER, "Not compliant (overdue or expired)"),
    *[SelectChoice(status, rules.LABELS[status]) for status in rules.STATUSES],
]


def _optional_int(value):
    """Empty select values mean "any"; anything else must be a whole number (else the field errors)."""
    if value in (None, ""):
        return None
    return int(value)


class PeopleFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter that changes nothing; the same values build the export links

    q = StringField(
        "Search",
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": "Name, email or ID"},
        widget=QuickTextInput(),
    )
    department = SelectField("Department", coerce=_optional_int, validate_choice=True, widget=QuickSelect())
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)], widget=QuickTextInput())
    item = SelectField("Course or policy", default="", validate_choice=True, widget=QuickSelect())
    status = SelectField("Status", choices=STATUS_CHOICES, default="", validate_choice=True, widget=QuickSelect())


class RequirementForm(FlaskForm):
    item = SelectField("Course or policy", validators=[DataRequired(message="Choose what is required.")])
    department = SelectField(
        "Department", coerce=_optional_int, description="Leave as everyone, or choose one department."
    )
    job_title = StringField(
        "Job title",
        validators=[Optional(), Length(max=120)],
        description="Only people with this job title (any letter case). Leave empty for every job title.",
    )
    due_within_days = IntegerField(
        "Due within (days)",
        default=30,
        validators=[
            InputRequired(message="Enter the number of days."),
            NumberRange(min=1, max=3650, message="Enter between 1 and 3650 days."),
        ],
        description="Counted from the hire date, or from today for people already employed.",
    )
    recertify_months = IntegerField(
        "Recertify every (months)",
        validators=[Optional(), NumberRange(min=1, max=120, message="Enter between 1 and 120 months.")],
        description=(
            "Courses only. Leave empty to use the course certificate's validity;"
            " policies are attested again when a material change is published."
        ),
    )
    submit = SubmitField("Add requirement")


class AllowanceForm(FlaskForm):
    """HR allows a person extra quiz attempts at a course with an attempt limit."""

    course = SelectField("Course", coerce=_optional_int, validate_choice=True, validators=[InputRequired()])
    extra_attempts = IntegerField(
        "Extra attempts",
        default=1,
        validators=[InputRequired("Enter a number."), NumberRange(1, 5, message="Allow from 1 to 5 extra attempts.")],
    )
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why, for the record."), Length(max=300)],
        description="Kept in the person's record, for example: a system outage during the last attempt.",
    )
    # A one-time key, new each time the page shows the form: sent twice, the form grants once (see grant_allowance).
    idempotency_key = HiddenField()
