"""The filter of the course statistics overview (a GET form)."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional


def _optional_int(value):
    """Empty means every department; anything else must be a department's number (else the field errors)."""
    if value in (None, ""):
        return None
    return int(value)


class StatsFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter that changes nothing

    department = SelectField("Department", coerce=_optional_int, validate_choice=True)
    job_title = StringField(
        "Job title",
        validators=[Optional(), Length(max=120)],
        description="Exactly as in the staff records (any letter case).",
    )
