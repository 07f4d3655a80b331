from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from training.auth.password_rules import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[DataRequired(message="Enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        # No password longer than 128 characters can be set; a longer one gets the usual failure.
        validators=[
            DataRequired(message="Enter your password."),
            Length(max=1024, message="Email or password is incorrect."),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(
        "Keep me signed in on this device",
        description="Not on a shared computer: anyone using this device could open your account.",
    )
    next = HiddenField()
    submit = SubmitField("Sign in")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = current_app.config["REMEMBER_ME_DAYS"]
        self.remember.label.text = f"Keep me signed in on this device for {days} day{'' if days == 1 else 's'}"


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(message="Enter your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(message="Enter a new password."), Length(max=1024)],
        description=(f"At least {MIN_LENGTH} characters, at most {MAX_LENGTH}. A few unrelated words make a good one."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired(message="Type the new password again."),
            EqualTo("new_password", message="The two new passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


class ConfirmPasswordForm(FlaskForm):
    """Ending sessions asks for the password again (ASVS 7.5.2): a stolen session cannot end yours."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired(message="Enter your password to confirm."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
