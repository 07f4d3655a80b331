"""Forms of two-step sign-in: the second step, enrolment, new recovery codes and turning it off."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

_CODE_INPUT = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "none",
    "spellcheck": "false",
}


def _code_field(label: str = "Code from your authenticator app") -> StringField:
    return StringField(
        label,
        validators=[DataRequired(message="Enter the 6-digit code from your app."), Length(max=32)],
        description="The 6-digit code your app shows now. Spaces are fine.",
        render_kw=_CODE_INPUT,
    )


def _password_field() -> PasswordField:
    return PasswordField(
        "Your current password",
        validators=[DataRequired(message="Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(FlaskForm):
    code = _code_field()
    submit = SubmitField("Continue")


class RecoveryCodeForm(FlaskForm):
    code = StringField(
        "Recovery code",
        validators=[DataRequired(message="Enter one of your recovery codes."), Length(max=64)],
        description="One of the codes you saved when you set up two-step sign-in, such as 7k3m-q9ph-2xrt-b4wz-…",
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField("Sign in")


class SetupForm(FlaskForm):
    code = _code_field()
    password = _password_field()
    submit = SubmitField("Turn on two-step sign-in")


class RegenerateForm(FlaskForm):
    password = _password_field()
    submit = SubmitField("Create new recovery codes")


class DisableForm(FlaskForm):
    password = _password_field()
    code = _code_field()
    submit = SubmitField("Turn off two-step sign-in")
