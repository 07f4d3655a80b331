"""The audit record's filter (a GET form: it changes nothing, and the same values build the CSV link)."""

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from training.audit.labels import action_choices

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
EARLIEST = date(1970, 1, 1)
LATEST = date(9999, 12, 30)  # a day later must still be a date


def _action_choices() -> list[SelectChoice]:
    choices = [SelectChoice("", "Any action")]
    for group, options in action_choices():
        choices += [SelectChoice(value, label, optgroup=group) for value, label in options]
    return choices


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        "Who",
        validators=[Optional(), Length(max=200, message="Enter at most 200 characters.")],
        description="Part of the person's name or email.",
        render_kw={"autocomplete": "off"},
    )
    action = SelectField("Action", choices=_action_choices(), default="", validate_choice=True)
    prefix = StringField(
        "Action begins with",
        validators=[
            Optional(),
            Regexp(r"^[a-z0-9_.]{1,64}$", message="Use lower-case letters, digits, _ and . only (up to 64)."),
        ],
        description="For actions not in the list, such as mfa. or user.sign",
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    subject_type = StringField(
        "Subject type",
        validators=[
            Optional(),
            Regexp(r"^[a-z0-9_]{1,32}$", message="Use lower-case letters, digits and _ only (up to 32)."),
        ],
        description="Such as user, certificate, policy or question.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    subject_id = StringField(
        "Subject id",
        validators=[Optional(), Length(max=64, message="Enter at most 64 characters.")],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    address = StringField(
        "Address",
        validators=[
            Optional(),
            Regexp(r"^[0-9A-Fa-f.:]{1,64}$", message="Enter an IP address, or its beginning (such as 10.0.)."),
        ],
        description="An IP address or its beginning.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def validate_q(self, field):
        _check_text(field.data)

    def validate_subject_id(self, field):
        _check_text(field.data)

    def validate_date_from(self, field):
        _check_range(field.data)

    def validate_date_to(self, field):
        _check_range(field.data)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


def _check_text(value: str | None) -> None:
    if value and CONTROL_CHARACTERS.search(value):
        raise ValidationError("Remove the control characters (such as tabs or line breaks).")


def _check_range(value: date | None) -> None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationError(f"Enter a date from {EARLIEST:%Y} to {LATEST:%Y}.")
