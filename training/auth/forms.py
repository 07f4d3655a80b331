from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


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
    next = HiddenField()
    submit = SubmitField("Sign in")
