import re

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from training.clock import SupportedDate
from training.compliance import rules
from training.compliance.people import NON_COMPLIANT_FILTER
from training.reports.period import period_problem

ITEM_KEY = re.compile(r"^(course|policy):\d{1,9}$")
STATUS_CHOICES = {"": "Any status", NON_COMPLIANT_FILTER: "Overdue or expired"} | {
    status: rules.LABELS[status] for status in rules.STATUSES
}


class ComplianceFilterForm(FlaskForm):
    """The people list's query parameters, read again for the exports (a GET that changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    department = IntegerField("Department", validators=[Optional(), NumberRange(min=1)])
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)])
    item = StringField(
        "Course or policy",
        validators=[Optional(), Regexp(ITEM_KEY, message="Choose a course or policy from the list.")],
    )
    status = SelectField("Status", choices=STATUS_CHOICES, validators=[Optional()])


class PacketForm(FlaskForm):
    """Who the audit packet is for (one person or one department) and which days of records go in."""

    scope = RadioField(
        "The packet covers",
        choices={"person": "One person", "department": "A department"},
        default="person",
        validators=[DataRequired(message="Choose one person or a department.")],
    )
    person = StringField(
        "Employee ID or email",
        validators=[Length(max=254)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    # Checked only when the packet is for a department (a person's packet ignores it).
    department = SelectField("Department", coerce=str, validate_choice=False)
    date_from = DateField(
        "From", validators=[InputRequired(message="Enter the first day of the period."), SupportedDate()]
    )
    date_to = DateField("To", validators=[InputRequired(message="Enter the last day of the period."), SupportedDate()])
    submit = SubmitField("Prepare audit packet (ZIP)")

    def validate_person(self, field):
        if self.scope.data == "person" and not (field.data or "").strip():
            raise ValidationError("Enter the person's employee ID or email address.")

    def validate_department(self, field):
        if self.scope.data != "department":
            return
        if not field.data:
            raise ValidationError("Choose a department.")
        if field.data not in {str(choice.value) for choice in field.iter_choices() if choice.value}:
            raise ValidationError("Choose a department from the list.")

    def validate_date_to(self, field):
        if field.data and self.date_from.data:
            problem = period_problem(self.date_from.data, field.data)
            if problem:
                raise ValidationError(problem)
