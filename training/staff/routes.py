"""Staff records for HR and admins: the people list, person form, deactivation, departments, CSV import."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from training.auth import mfa
from training.auth.access import roles_required
from training.auth.departments import all_departments
from training.auth.sessions import live_session_count
from training.client import client_ip
from training.error_pages import TOO_LARGE_MESSAGE, error_response
from training.errors import DomainError
from training.sso import links as sso_links
from training.staff import csv_import, listing, people, person_input
from training.staff import departments as staff_departments
from training.staff.changes import InvalidFields
from training.staff.csv_file import COLUMNS, EXAMPLE
from training.staff.forms import (
    ApplyImportForm,
    ConfirmForm,
    DepartmentForm,
    ImportForm,
    PersonForm,
    RenameDepartmentForm,
    StaffFilterForm,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")
hr_only = roles_required(*people.STAFF_ROLES)


@bp.context_processor
def _helpers():
    return {
        "compliance_path": compliance_path,
        "csv_columns": COLUMNS,
        "csv_header": EXAMPLE,
        "may_change": lambda person: people.may_change(current_user, person),
    }


def compliance_path(user_id: int) -> str:
    """A person's compliance page; a plain path until the compliance blueprint registers its endpoint."""
    if "compliance.person" in current_app.view_functions:
        return url_for("compliance.person", user_id=user_id)
    return f"/compliance/people/{user_id}"


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    if request.endpoint != "staff.import_staff":
        return error_response(413, "request_entity_too_large", TOO_LARGE_MESSAGE)
    limit = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    message = (
        f"The file is larger than {limit:g} MB, the most this site accepts in one upload. Nothing was imported. "
        "Split it into smaller files (people are matched by employee id, so the files can be imported one "
        "after another; put managers in the first file)."
    )
    return error_response(413, "too_large", message, "That file is too large")


# --- People -------------------------------------------------------------------------------------


@bp.route("")
@hr_only
def index():
    form = StaffFilterForm(formdata=MultiDict(request.args))
    form.department.choices = [("", "All departments"), (listing.NO_DEPARTMENT, "No department")] + [
        (str(d.id), d.name) for d in all_departments()
    ]
    if not form.validate():
        return render_template("staff/index.html", form=form, page=None, args={}), 400
    page = listing.staff_page(form.criteria(), request.args.get("page", 1, type=int))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("staff/index.html", form=form, page=page, args=args)


def _person_form(person=None) -> PersonForm:
    data = None
    if person is not None:
        data = {
            "employee_id": person.employee_id or "",
            "name": person.name,
            "email": person.email,
            "department": str(person.department_id or ""),
            "job_title": person.job_title,
            "hire_date": person.hire_date,
            "manager_email": person.manager.email if person.manager else "",
            "role": person.role,
        }
    form = PersonForm(data=data)
    form.set_choices(all_departments(), person_input.assignable_roles(current_user, person))
    return form


def _person_page(form: PersonForm, person=None):
    status = 422 if form.errors else 200
    live_sessions = live_session_count(person.id) if person is not None else 0
    identities = sso_links.identities_of(person.id) if person is not None else []
    return render_template(
        "staff/person.html", form=form, person=person, live_sessions=live_sessions, identities=identities
    ), status


@bp.route("/new", methods=["GET", "POST"])
@hr_only
def new():
    form = _person_form()
    if form.validate_on_submit():
        try:
            person = people.create_person(current_user, form.person_input(), ip_address=client_ip())
        except InvalidFields as invalid:
            form.attach(invalid.errors)
        else:
            flash(f"{person.name} was added. They can sign in once they have a password (see below).", "success")
            return redirect(url_for("staff.edit", user_id=person.id))
    return _person_page(form)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(user_id: int):
    person = people.managed_person(current_user, user_id)
    form = _person_form(person)
    if form.validate_on_submit():
        try:
            _, changes = people.update_person(current_user, user_id, form.person_input(), ip_address=client_ip())
        except InvalidFields as invalid:
            form.attach(invalid.errors)
        else:
            flash(f"Saved {len(changes)} change(s) to {person.name}." if changes else "Nothing changed.", "success")
            return redirect(url_for("staff.edit", user_id=user_id))
    return _person_page(form, person)


@bp.route("/<int:user_id>/deactivate", methods=["GET", "POST"])
@hr_only
def deactivate(user_id: int):
    """GET asks for confirmation; the POST (CSRF-checked) deactivates."""
    person = people.managed_person(current_user, user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        people.deactivate_person(current_user, user_id, ip_address=client_ip())
        flash(f"{person.name} is deactivated and signed out everywhere. Their records are kept.", "success")
        return redirect(url_for("staff.edit", user_id=user_id))
    managed = listing.people_managed_by(person)
    return render_template("staff/deactivate.html", person=person, form=form, managed=managed)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@hr_only
def reactivate(user_id: int):
    person = people.reactivate_person(current_user, user_id, ip_address=client_ip())
    flash(f"{person.name} is active again and appears in compliance figures.", "success")
    return redirect(url_for("staff.edit", user_id=user_id))


@bp.route("/<int:user_id>/two-step/reset", methods=["POST"])
@roles_required("admin")
def reset_two_step(user_id: int):
    """A lost phone: an admin turns the person's two-step sign-in off and signs them out everywhere."""
    person = mfa.reset(current_user, user_id, ip_address=client_ip())
    flash(
        f"Two-step sign-in of {person.name} is reset and they are signed out everywhere. "
        "Their next sign-in is with their password alone.",
        "success",
    )
    return redirect(url_for("staff.edit", user_id=user_id))


@bp.route("/<int:user_id>/sso/<int:link_id>/unlink", methods=["POST"])
@hr_only
def unlink_identity(user_id: int, link_id: int):
    """No fields: CSRFProtect checks the token. Whoever may edit the person may remove a link."""
    person = people.managed_person(current_user, user_id)
    link = sso_links.unlink(current_user.id, person.id, link_id, ip_address=client_ip())
    flash(
        f"The sign-in link of {person.name} at {link.issuer} is removed. Their next single sign-on links again "
        "by employee id (or verified email, if configured).",
        "success",
    )
    return redirect(url_for("staff.edit", user_id=user_id))


@bp.route("/<int:user_id>/sign-out", methods=["POST"])
@hr_only
def sign_out_everywhere(user_id: int):
    """No fields: CSRFProtect checks the form's token. Only an admin may do this to hr/author/admin accounts."""
    person, ended = people.sign_out_everywhere(current_user, user_id, ip_address=client_ip())
    sessions = "no open session" if not ended else f"{ended} open session{'s' if ended > 1 else ''}"
    flash(f"{person.name} is signed out everywhere ({sessions} ended).", "success")
    return redirect(url_for("staff.edit", user_id=user_id))


# --- Departments --------------------------------------------------------------------------------


def _departments_page(add_form: DepartmentForm, failed: tuple[int, RenameDepartmentForm] | None = None):
    rows = staff_departments.department_rows()
    rename_forms = {
        row.id: RenameDepartmentForm(formdata=None, prefix=f"d{row.id}", data={"name": row.name}) for row in rows
    }
    if failed is not None:
        rename_forms[failed[0]] = failed[1]
    status = 422 if add_form.errors or failed else 200
    return render_template("staff/departments.html", rows=rows, form=add_form, rename_forms=rename_forms), status


@bp.route("/departments", methods=["GET", "POST"])
@hr_only
def departments():
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            department = staff_departments.create_department(current_user, form.name.data, ip_address=client_ip())
        except InvalidFields as invalid:
            form.attach(invalid.errors)
        else:
            flash(f"Department {department.name} was added.", "success")
            return redirect(url_for("staff.departments"))
    return _departments_page(form)


@bp.route("/departments/<int:department_id>/rename", methods=["POST"])
@hr_only
def rename_department(department_id: int):
    staff_departments.department(department_id)
    form = RenameDepartmentForm(prefix=f"d{department_id}")
    if form.validate_on_submit():
        try:
            department = staff_departments.rename_department(
                current_user, department_id, form.name.data, ip_address=client_ip()
            )
        except InvalidFields as invalid:
            form.attach(invalid.errors)
        else:
            flash(f"Department renamed to {department.name}.", "success")
            return redirect(url_for("staff.departments"))
    return _departments_page(DepartmentForm(formdata=None), (department_id, form))


# --- CSV import ---------------------------------------------------------------------------------


def _import_page(form: ImportForm, preview: csv_import.Preview | None = None):
    apply_form = None
    if preview is not None and preview.token:
        apply_form = ApplyImportForm(formdata=None, data={"token": preview.token, "sha256": preview.sha256})
    status = 422 if form.errors or (preview is not None and not preview.plan.ok) else 200
    return render_template("staff/import.html", form=form, preview=preview, apply_form=apply_form), status


@bp.route("/import", methods=["GET", "POST"])
@hr_only
def import_staff():
    """Upload: always a dry run first. The file is kept on the server for the apply step (see staging)."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form)
    upload = form.file.data
    preview = csv_import.stage_import(
        current_user, upload.read(), upload.filename or "upload.csv", create_departments=form.create_departments.data
    )
    return _import_page(ImportForm(formdata=None), preview)


@bp.route("/import/apply", methods=["POST"])
@hr_only
def apply_import():
    form = ApplyImportForm()
    if not form.validate_on_submit():
        raise DomainError("The import form was incomplete. Upload the file again.", tampered="staged import form")
    try:
        plan = csv_import.apply_staged_import(current_user, form.token.data, form.sha256.data, ip_address=client_ip())
    except csv_import.ImportRefused as refused:
        return _import_page(ImportForm(formdata=None), refused.preview)
    flash(f"Imported: {plan.summary()}.", "success")
    return redirect(url_for("staff.index", status="all"))
