"""HR's compliance pages: the dashboard, the people list, one person's record, and requirement rules."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select

from training.auth.access import roles_required
from training.auth.models import Department
from training.client import client_ip
from training.clock import today
from training.compliance import overview, rules
from training.compliance.forms import AllowanceForm, PeopleFilterForm, RequirementForm
from training.compliance.people import ComplianceFilter, attestations_of, people_page, person_for_viewer, scoped_filter
from training.compliance.requirements import (
    Item,
    RequirementInput,
    active_requirements,
    create_requirement,
    requirable_items,
    required_items,
    retire_requirement,
)
from training.compliance.status import due_soon_days, person_cells
from training.courses.transcript import requested_pages, transcript_page
from training.extensions import db
from training.quizzes import allowances as quiz_allowances
from training.security_log import tampering

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

VIEWERS = ("manager", "hr", "admin")
RULE_MAKERS = ("hr", "admin")


@bp.route("")
@roles_required(*VIEWERS)
def dashboard():
    department_id = scoped_filter(current_user, ComplianceFilter()).department_id
    return render_template(
        "compliance/dashboard.html",
        figures=overview.dashboard(department_id),
        due_soon_days=due_soon_days(),
        statuses=rules.STATUSES,
    )


@bp.route("/people")
@roles_required(*VIEWERS)
def people():
    items = required_items()
    form = _filter_form(items)
    if not form.validate():
        if form.department.errors:  # the list offers only the departments this person may see
            tampering("department filter", department=request.args.get("department", "")[:20])
        return render_template("compliance/people.html", form=form, page=None, filter_args={}), 422
    criteria = scoped_filter(current_user, _criteria_of(form))
    page = people_page(criteria, items, request.args.get("page", 1, type=int))
    return render_template("compliance/people.html", form=form, page=page, items=items, filter_args=_filter_args(form))


@bp.route("/people/<int:user_id>")
@roles_required(*VIEWERS)
def person(user_id: int):
    return _person_page(person_for_viewer(current_user, user_id))


def _allowance_form() -> AllowanceForm | None:
    if current_user.role not in RULE_MAKERS:
        return None
    form = AllowanceForm()
    form.course.choices = [("", "Choose…")] + [(c.id, c.title) for c in quiz_allowances.limited_courses()]
    if not form.is_submitted():  # a form sent back keeps its key, so correcting it still grants once
        form.idempotency_key.data = quiz_allowances.new_idempotency_key()
    return form


def _person_page(person, form=None, status=200):
    page = render_template(
        "compliance/person.html",
        person=person,
        cells=person_cells(person.id),
        record=transcript_page(person.id, *requested_pages(request.args), with_current=False),
        attestations=attestations_of(person.id),
        allowances=quiz_allowances.allowances_of(person.id),
        allowance_form=form or _allowance_form(),
        as_of=today(),
    )
    return page, status


@bp.route("/people/<int:user_id>/allowances", methods=["POST"])
@roles_required(*RULE_MAKERS)
def allowances(user_id: int):
    person = person_for_viewer(current_user, user_id)
    form = _allowance_form()
    if not form.validate_on_submit():
        return _person_page(person, form, 422)
    granted = quiz_allowances.grant_allowance(
        current_user,
        person,
        form.course.data,
        form.extra_attempts.data,
        form.reason.data.strip(),
        client_ip(),
        key=form.idempotency_key.data,
    )
    flash(f"{person.name} may make {granted.extra_attempts} more attempt(s).", "success")
    return redirect(url_for("compliance.person", user_id=person.id) + "#allowances-heading")


@bp.route("/requirements", methods=["GET", "POST"])
@roles_required(*RULE_MAKERS)
def requirements():
    form = _requirement_form()
    if form.validate_on_submit():
        data = RequirementInput(
            item=form.item.data,
            department_id=form.department.data,
            job_title=form.job_title.data or "",
            due_within_days=form.due_within_days.data,
            recertify_months=form.recertify_months.data,
        )
        create_requirement(current_user, data, ip_address=client_ip())
        flash("Requirement added. Everyone's obligations were updated.", "success")
        return redirect(url_for("compliance.requirements"))
    status = 422 if form.is_submitted() else 200
    page = render_template("compliance/requirements.html", form=form, rules=active_requirements())
    return page, status


@bp.route("/requirements/<int:requirement_id>/retire", methods=["POST"])
@roles_required(*RULE_MAKERS)
def retire(requirement_id: int):
    """CSRF is checked for every POST by the app-wide CSRFProtect."""
    retire_requirement(current_user, requirement_id, ip_address=client_ip())
    flash("Requirement retired. Obligations that came only from it were removed.", "success")
    return redirect(url_for("compliance.requirements"))


# Built once: the people list's filter asks on every visit, and building a statement costs more than running it.
_ALL_DEPARTMENTS = select(Department.id, Department.name).order_by(Department.name)
_OWN_DEPARTMENT = _ALL_DEPARTMENTS.where(Department.id == bindparam("department_id"))


def _departments() -> list[tuple[int, str]]:
    if current_user.role == "manager":
        rows = db.session.execute(_OWN_DEPARTMENT, {"department_id": current_user.department_id})
    else:
        rows = db.session.execute(_ALL_DEPARTMENTS)
    return [tuple(row) for row in rows]


def _filter_form(items: list[Item]) -> PeopleFilterForm:
    form = PeopleFilterForm(request.args)
    everyone = [] if current_user.role == "manager" else [("", "All departments")]
    form.department.choices = everyone + _departments()
    if current_user.role == "manager" and not request.args.get("department"):
        form.department.data = current_user.department_id
    form.item.choices = [("", "Any course or policy")] + [(i.key, i.title) for i in items]
    return form


def _criteria_of(form: PeopleFilterForm) -> ComplianceFilter:
    return ComplianceFilter(
        q=form.q.data or "",
        department_id=form.department.data,
        job_title=form.job_title.data or "",
        item=form.item.data or "",
        status=form.status.data or "",
    )


def _filter_args(form: PeopleFilterForm) -> dict:
    """The filter as query parameters, for the pager and the export links."""
    values = {"q": form.q.data, "department": form.department.data, "job_title": form.job_title.data}
    values |= {"item": form.item.data, "status": form.status.data}
    return {key: value for key, value in values.items() if value not in (None, "")}


def _requirement_form() -> RequirementForm:
    form = RequirementForm()
    form.item.choices = [("", "Choose…")] + [
        (i.key, f"{'Course' if i.kind == 'course' else 'Policy'}: {i.title}") for i in requirable_items()
    ]
    form.department.choices = [("", "Everyone"), *_departments()]
    return form
