from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

DEFAULT_DAYS = 30
KIND_CHOICES = [
    SelectChoice("", "Staff reminders and manager digests"),
    SelectChoice("staff", "Staff reminders"),
    SelectChoice("manager", "Manager digests"),
]


class ReminderFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter that changes nothing

    days = IntegerField(
        "Sent in the last (days)",
        default=DEFAULT_DAYS,
        validators=[Optional(), NumberRange(min=1, max=3660, message="Enter a number of days from 1 to 3660.")],
    )
    kind = SelectField("Kind", choices=KIND_CHOICES, default="")
    q = StringField(
        "Name or email",
        validators=[Optional(), Length(max=200, message="Enter at most 200 characters.")],
        render_kw={"autocomplete": "off"},
    )
