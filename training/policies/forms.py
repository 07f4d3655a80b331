from dataclasses import replace

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from training.policies import rules
from training.policies.management import MIN_READING_RANGE, VersionInput
from training.urls import is_number

BODY_MAX = 100_000

MATERIAL_HELP = (
    "Tick this when the change alters what people must do. Everyone required to attest to this policy "
    "is asked to attest again, and everyone who completed a course linked to it is asked to take that "
    "course again: HIPAA expects workforce members whose work a material policy change affects to be "
    "trained on it within a reasonable time (45 CFR 164.530(b)(2)(i)(C)). Leave it unticked for "
    "corrections and clarifications: attestations already made keep counting."
)


class VersionFields(FlaskForm):
    """The text of a version, shared by the new-policy and publish forms."""

    body = TextAreaField(
        "Policy text",
        validators=[
            DataRequired(message="Write the text of the policy."),
            Length(max=BODY_MAX, message=f"Use at most {BODY_MAX:,} characters."),
        ],
        description="Markdown: ## for headings, - for lists, **bold**, [link text](https://...).",
        render_kw={"rows": 18},
    )
    min_reading_seconds = IntegerField(
        "Minimum reading time (seconds)",
        validators=[
            InputRequired(message="Enter a number of seconds."),
            NumberRange(*MIN_READING_RANGE, message="Enter a number of seconds from 0 to 3600."),
        ],
        description="People can attest only this long after they first open this version.",
        render_kw={"inputmode": "numeric"},
    )
    statement = TextAreaField(
        "Attestation statement",
        validators=[Optional(), Length(max=rules.STATEMENT_MAX, message="Use at most 500 characters.")],
        description="What people agree to when they attest. Leave empty for the standard statement.",
        render_kw={"rows": 2},
    )
    preview = SubmitField("Preview")

    def version_input(self) -> VersionInput:
        return VersionInput(
            body=self.body.data, min_reading_seconds=self.min_reading_seconds.data, statement=self.statement.data or ""
        )


class NewPolicyForm(VersionFields):
    title = StringField(
        "Title",
        validators=[DataRequired(message="Enter the policy's title."), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    slug = StringField(
        "Address",
        validators=[Optional(), Length(max=rules.SLUG_MAX, message=f"Use at most {rules.SLUG_MAX} characters.")],
        description="The end of the policy's web address. Leave empty to make it from the title.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    submit = SubmitField("Create the policy")


class PublishForm(VersionFields):
    based_on = HiddenField()
    change_summary = TextAreaField(
        "What changed",
        validators=[DataRequired(message="Say what changed; staff see it with the new version."), Length(max=2000)],
        render_kw={"rows": 3},
    )
    material_change = BooleanField("Material change: everyone attests again and retakes the linked courses")
    submit = SubmitField("Publish this version")

    def version_input(self) -> VersionInput:
        return replace(
            super().version_input(), change_summary=self.change_summary.data, material_change=self.material_change.data
        )

    def based_on_version(self) -> int | None:
        return int(self.based_on.data) if is_number(self.based_on.data) else None


class LinkCourseForm(FlaskForm):
    course = SelectField("Course", coerce=int, validate_choice=True)
    submit = SubmitField("Link the course")


class AttestForm(FlaskForm):
    version_id = HiddenField(validators=[DataRequired()])
    agree = BooleanField(validators=[DataRequired(message="Tick the box to confirm the statement.")])
    submit = SubmitField("Attest")

    def validate_version_id(self, field):
        if not is_number(field.data):
            raise ValidationError("This form is not for a version of this policy. Reload the page and try again.")
