"""Forms of the import and export page."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class ImportForm(FlaskForm):
    file = FileField(
        "Question file",
        validators=[FileRequired(message="Choose a .yaml, .yml, .gift or .txt file to upload.")],
        description="UTF-8 text, at most 1 MB.",
    )
    format = SelectField(
        "Format",
        choices=[
            SelectChoice("", "From the file name (.yaml, .yml: YAML; .gift, .txt: GIFT)"),
            SelectChoice("yaml", "YAML (the course file format)"),
            SelectChoice("gift", "Moodle GIFT"),
        ],
        default="",
    )
    status = RadioField(
        "Import the questions as",
        choices=[
            SelectChoice("draft", "Drafts: new questions are not asked until someone publishes them"),
            SelectChoice("published", "Published: asked in new attempts at once"),
        ],
        default="draft",
        validators=[DataRequired(message="Choose drafts or published.")],
    )
    submit = SubmitField("Upload and preview")


class ApplyImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
    submit = SubmitField("Import these questions")
