from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SearchField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from training.clock import SupportedDate
from training.staff.listing import StaffFilter
from training.staff.person_input import PersonInput
from training.urls import is_number
from training.visible_text import VisibleText, tidy_field

EMAIL_KW = {"inputmode": "email", "autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"}


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    q = SearchField("Search", validators=[Optional(), Length(max=200)], description="Name, email or employee id")
    department = SelectField("Department", coerce=str, validators=[Optional()])
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("active", "Active"),
            SelectChoice("deactivated", "Deactivated"),
            SelectChoice("all", "All"),
        ],
        default="active",
        validators=[Optional()],
    )

    def criteria(self) -> StaffFilter:
        return StaffFilter(
            q=self.q.data or "", department=self.department.data or "", status=self.status.data or "active"
        )


class PersonForm(FlaskForm):
    # In the order of the page, which is the order of its error summary.
    name = StringField(
        "Full name",
        filters=[tidy_field],
        validators=[DataRequired(message="Enter the person's name."), Length(max=200), VisibleText("name")],
    )
    email = StringField(
        "Email",
        validators=[DataRequired(message="Enter the person's email address."), Length(max=254)],
        render_kw=EMAIL_KW,
    )
    employee_id = StringField(
        "Employee id", filters=[tidy_field], validators=[Optional(), Length(max=64), VisibleText("employee id")]
    )
    job_title = StringField(
        "Job title", filters=[tidy_field], validators=[Optional(), Length(max=120), VisibleText("job title")]
    )
    department = SelectField("Department", coerce=str, validators=[Optional()])
    new_department = StringField(
        "Or add a new department",
        filters=[tidy_field],
        validators=[Optional(), Length(max=120), VisibleText("department name")],
        description="Fill this in to create the department and put the person in it.",
    )
    hire_date = DateField(
        "Hire date",
        validators=[Optional(), SupportedDate()],
        description="Due dates for required training count from this day.",
    )
    manager_email = StringField(
        "Manager's email",
        validators=[Optional(), Length(max=254)],
        description="An active person in the staff records.",
        render_kw=EMAIL_KW,
    )
    role = SelectField("Role", coerce=str)
    submit = SubmitField("Save")

    def set_choices(self, departments, roles) -> None:
        self.department.choices = [("", "No department")] + [(str(d.id), d.name) for d in departments]
        self.role.choices = [(role, role.title() if role != "hr" else "HR") for role in roles]

    def person_input(self) -> PersonInput:
        return PersonInput(
            employee_id=self.employee_id.data or "",
            name=self.name.data or "",
            email=self.email.data or "",
            department_id=int(self.department.data) if is_number(self.department.data) else None,
            new_department=self.new_department.data or "",
            job_title=self.job_title.data or "",
            hire_date=self.hire_date.data,
            manager_email=self.manager_email.data or "",
            role=self.role.data,
        )

    def attach(self, errors: dict[str, str]) -> None:
        """Show the service's findings next to the fields they are about."""
        for name, message in errors.items():
            field = self._fields.get(name, self.email)
            field.errors = [*field.errors, message]


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm")


class DepartmentForm(FlaskForm):
    name = StringField(
        "Department name",
        filters=[tidy_field],
        validators=[
            DataRequired(message="Enter the department's name."),
            Length(max=120),
            VisibleText("department name"),
        ],
    )
    submit = SubmitField("Add department")

    def attach(self, errors: dict[str, str]) -> None:
        self.name.errors = [*self.name.errors, *errors.values()]


class RenameDepartmentForm(FlaskForm):
    name = StringField(
        "New name",
        filters=[tidy_field],
        validators=[DataRequired(message="Enter the new name."), Length(max=120), VisibleText("department name")],
    )
    submit = SubmitField("Rename")

    def attach(self, errors: dict[str, str]) -> None:
        self.name.errors = [*self.name.errors, *errors.values()]


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[
            FileRequired(message="Choose the CSV file to check."),
            FileAllowed(["csv"], message='Choose a .csv file: save the spreadsheet as "CSV UTF-8 (comma delimited)".'),
        ],
    )
    create_departments = BooleanField(
        "Create missing departments",
        description="Otherwise a department that does not exist yet is an error on its row.",
    )
    submit = SubmitField("Check the file (dry run)")


class ApplyImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    sha256 = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Import these changes")
