import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from training.clock import SupportedDate

SHA256_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Reason for revoking",
        validators=[
            DataRequired(message="Say why the certificate is revoked; the reason goes into the audit record."),
            Length(min=10, max=500, message="Write between 10 and 500 characters."),
        ],
        description="Kept in the audit record. The public verification page says only that it was revoked.",
    )
    submit = SubmitField("Revoke certificate")


class FileCheckForm(FlaskForm):
    """Check a certificate file against the record: upload the PDF, or paste its SHA-256."""

    pdf = FileField("Certificate PDF", validators=[FileAllowed(["pdf"], message="Choose the certificate's .pdf file.")])
    sha256 = StringField(
        "or its SHA-256",
        validators=[Optional(), Length(max=80)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    submit = SubmitField("Check the file")

    def validate_sha256(self, field):
        if field.data and not SHA256_PATTERN.match(field.data.strip()):
            raise ValidationError("A SHA-256 is 64 characters, each 0 to 9 or a to f.")

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.pdf.data and not (self.sha256.data or "").strip():
            self.pdf.errors.append("Choose the certificate PDF, or enter its SHA-256.")
            return False
        return True


class SerialLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    serial = StringField(
        "Certificate serial",
        validators=[DataRequired(message="Enter the serial printed on the certificate."), Length(max=40)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


class CertificateFilterForm(FlaskForm):
    class Meta:
        csrf = False  # filters a list; the same values build the export link

    department = SelectField("Department", coerce=str, validators=[Optional()])
    course = SelectField("Course", coerce=str, validators=[Optional()])
    issued_from = DateField("Issued from", validators=[Optional(), SupportedDate()])
    issued_to = DateField("Issued to", validators=[Optional(), SupportedDate()])

    def validate_issued_to(self, field):
        if field.data and self.issued_from.data and field.data < self.issued_from.data:
            raise ValidationError("The end date is before the start date.")
