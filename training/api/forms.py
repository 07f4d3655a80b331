from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from training.api.tokens import CONTROL_CHARACTERS, NAME_MAX


class NewTokenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the token a name, such as the system that will use it."),
            Length(max=NAME_MAX, message=f"Write at most {NAME_MAX} characters."),
        ],
        description="Say which system will use it, for example “Payroll nightly sync”.",
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField("Create token")

    def validate_name(self, field):
        if CONTROL_CHARACTERS.search(field.data or ""):
            raise ValidationError("Use letters, digits, spaces and punctuation only.")
