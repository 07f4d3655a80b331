"""Forms for course settings and modules. Limits are the content files' limits (loader.COURSE_FIELDS)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from training.authoring.questions.forms import normalise_text
from training.content.loader import COURSE_FIELDS, SLUG_RE

MAX_MODULE_BODY = 100_000
MAX_ATTEMPTS = (1, 20)
MAX_WAIT_MINUTES = 10_080  # a week


def _text_limit(name: str) -> int:
    return COURSE_FIELDS[name][1]


def _range(name: str) -> NumberRange:
    low, high = COURSE_FIELDS[name][1]
    return NumberRange(low, high, message=f"Enter a whole number from {low} to {high}.")


def _number(label: str, name: str, description: str) -> IntegerField:
    return IntegerField(
        label, validators=[InputRequired("Enter a whole number."), _range(name)], description=description
    )


class CourseSettingsForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Enter a title."), Length(max=_text_limit("title"))], filters=[normalise_text]
    )
    summary = TextAreaField(
        "Summary",
        validators=[DataRequired("Enter a summary."), Length(max=_text_limit("summary"))],
        filters=[normalise_text],
        description="One or two sentences shown on learners' training page.",
        render_kw={"rows": 3},
    )
    pass_mark = _number("Pass mark (%)", "pass_mark", "The share of right answers needed to pass, 1 to 100.")
    questions_per_attempt = _number(
        "Questions per attempt", "questions_per_attempt", "Drawn at random from the published questions, 1 to 100."
    )
    max_attempts = IntegerField(
        "Maximum attempts per completion",
        validators=[
            Optional(),
            NumberRange(*MAX_ATTEMPTS, message="Enter a whole number from 1 to 20, or leave blank."),
        ],
        description="Leave blank for unlimited attempts. HR can allow a person more.",
    )
    attempt_wait_minutes = IntegerField(
        "Wait after a failed attempt (minutes)",
        default=0,
        validators=[
            Optional(),
            NumberRange(0, MAX_WAIT_MINUTES, message=f"Enter a whole number from 0 to {MAX_WAIT_MINUTES} (a week)."),
        ],
        description="0 for no wait.",
    )
    certificate_validity_months = _number(
        "Certificate validity (months)", "certificate_validity_months", "How long a completion counts, 1 to 120."
    )
    estimated_minutes = _number("Estimated minutes", "estimated_minutes", "Shown to learners, 1 to 1000.")
    token = HiddenField()

    def values(self) -> dict:
        return {
            "title": self.title.data,
            "summary": self.summary.data,
            "pass_mark": self.pass_mark.data,
            "questions_per_attempt": self.questions_per_attempt.data,
            "max_attempts": self.max_attempts.data,
            "attempt_wait_minutes": self.attempt_wait_minutes.data or 0,
            "certificate_validity_months": self.certificate_validity_months.data,
            "estimated_minutes": self.estimated_minutes.data,
        }


class NewCourseForm(CourseSettingsForm):
    slug = StringField(
        "Course id",
        validators=[
            DataRequired("Enter an id."),
            Regexp(
                SLUG_RE, message="Use 2 to 64 lowercase letters, digits and hyphens, starting with a letter or digit."
            ),
        ],
        description="A stable id used in the course's address and in files, such as fire-safety. It cannot be changed.",
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )


class ModuleForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter a title."), Length(max=200)], filters=[normalise_text])
    summary = StringField(
        "Summary",
        validators=[Length(max=300)],
        filters=[normalise_text],
        description="Optional; one sentence shown in the list of modules.",
    )
    body = TextAreaField(
        "Text (Markdown)",
        validators=[DataRequired("Enter the module's text."), Length(max=MAX_MODULE_BODY)],
        filters=[normalise_text],
        description="Start sections with ## headings. Raw HTML is shown as text, never run.",
        render_kw={"rows": 18},
    )
    token = HiddenField()
