from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from training.auth.password_rules import MIN_LENGTH


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[DataRequired(message="Enter your email address."), Length(max=254)],
        description="The address your organization registered for you.",
        render_kw={"autocomplete": "username", "inputmode": "email", "autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField("Email me a reset link")


class ResetPasswordForm(FlaskForm):
    """The password's own rules (length, common passwords) are checked by the service."""

    password = PasswordField(
        "New password",
        validators=[DataRequired(message="Enter a new password.")],
        description=f"At least {MIN_LENGTH} characters. A few unrelated words make a good one; spaces are fine.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired(message="Enter the new password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change my password")
