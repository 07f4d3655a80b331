"""SCIM provisioning: Users created, read, replaced, patched and deprovisioned through the staff services.

Every write goes through training.staff.people (the same functions as /staff/new and the CSV import) with
a SystemActor that has HR's reach and names the SCIM token, so obligations are rebuilt and audit events
written in the same transaction. One request is one transaction: a PATCH that edits and deactivates a
person lands whole or not at all.
"""

import json
from dataclasses import dataclass

from flask import current_app
from pydantic import ValidationError
from scim2_models import Context, EnterpriseUser, PatchOp, SCIMException, ScimFilter, ScimPolicy
from scim2_models.path import CompareOperator, Comparison
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from training.auth.departments import department_named
from training.auth.models import User
from training.errors import Conflict, DomainError, Forbidden, NotFound
from training.extensions import db
from training.scim.resources import (
    ENTERPRISE_SCHEMA,
    MAX_RESULTS,
    PATCH_POLICY,
    POLICY,
    USER_SCHEMA,
    PersonView,
    ScimUser,
    user_resource,
)
from training.staff.changes import InvalidFields, SystemActor, transaction
from training.staff.people import create_person, deactivate_person, deprovision_person, reactivate_person, update_person
from training.staff.person_input import PersonInput

NOT_FOUND = "There is no such User."
FILTER_ATTRIBUTES = {"username": User.email, "externalid": User.external_id, "emails": User.email}
FILTER_HELP = 'Only one comparison with eq on userName, externalId or emails is supported (userName eq "a@b.org").'


class ScimError(DomainError):
    """A refusal with a SCIM `scimType` (RFC 7644 §3.12)."""

    def __init__(self, message: str, *, status: int = 400, scim_type: str | None = None):
        super().__init__(message, status=status, code=scim_type or "error")
        self.scim_type = scim_type


@dataclass(frozen=True)
class ScimCaller:
    """Who calls: an identity provider holding a SCIM token, from an address."""

    token_id: int
    ip_address: str

    @property
    def actor(self) -> SystemActor:
        return SystemActor(source={"channel": "scim", "scim_token_id": self.token_id})


# --- Reading ---------------------------------------------------------------------------------------


def person_view(person: User) -> PersonView:
    return PersonView(
        id=person.id,
        email=person.email,
        name=person.name,
        job_title=person.job_title,
        active=person.active,
        external_id=person.external_id,
        employee_id=person.employee_id,
        department=person.department.name if person.department else None,
        manager_id=person.manager_id,
        manager_name=person.manager.name if person.manager else None,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def _provisioned():
    return select(User).options(joinedload(User.manager)).where(User.deprovisioned_at.is_(None))


def get_user(user_id: str) -> PersonView:
    return person_view(_person(user_id))


def _person(user_id: str) -> User:
    """A person SCIM can see: not deprovisioned (a deleted User is answered 404, RFC 7644 §3.6)."""
    if not user_id.isdigit() or len(user_id) > 18:
        raise NotFound(NOT_FOUND)
    person = db.session.execute(_provisioned().where(User.id == int(user_id))).scalar()
    if person is None:
        raise NotFound(NOT_FOUND)
    return person


@dataclass(frozen=True)
class SearchResult:
    total: int
    start_index: int
    people: list[PersonView]


def search(filter_text: str | None, start_index: str | None, count: str | None) -> SearchResult:
    """Users matching an optional `eq` filter, by id, from `startIndex` (1-based), at most `count`."""
    start = max(1, _whole(start_index, "startIndex", 1))
    limit = min(MAX_RESULTS, max(0, _whole(count, "count", MAX_RESULTS)))
    query = _provisioned()
    if filter_text:
        query = query.where(_condition(filter_text))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    people = db.session.execute(query.order_by(User.id).offset(start - 1).limit(limit)).scalars() if limit else []
    return SearchResult(total, start, [person_view(person) for person in people])


def _whole(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ScimError(f"{name} must be a whole number.", scim_type="invalidValue") from None


def _condition(filter_text: str):
    """The SQL condition for a SCIM filter; the grammar is scim2-models', only `eq` on three attributes is served."""
    try:
        node = ScimFilter[ScimUser](filter_text).ast
    except (SCIMException, ValueError) as error:
        raise ScimError(f"The filter cannot be read: {error}. {FILTER_HELP}", scim_type="invalidFilter") from None
    path = getattr(node, "attr_path", None)
    if (
        not isinstance(node, Comparison)
        or node.op != CompareOperator.eq
        or path.uri not in (None, USER_SCHEMA)
        or path.attr.lower() not in FILTER_ATTRIBUTES
        or (path.sub_attr not in (None, "value") and path.attr.lower() == "emails")
        or (path.sub_attr is not None and path.attr.lower() != "emails")
        or not isinstance(node.value, str)
    ):
        raise ScimError(f"This filter is not supported. {FILTER_HELP}", scim_type="invalidFilter")
    column = FILTER_ATTRIBUTES[path.attr.lower()]
    if column is User.external_id:
        return column == node.value  # caseExact (RFC 7643 §3.1)
    return column == node.value.strip().lower()  # emails are stored lowercased


# --- Writing ---------------------------------------------------------------------------------------


def parse_json(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ScimError("The request body is not JSON.", scim_type="invalidSyntax") from None
    if not isinstance(payload, dict):
        raise ScimError("The request body must be a JSON object.", scim_type="invalidSyntax")
    return payload


def create_user(caller: ScimCaller, payload: dict, base_url: str) -> PersonView:
    """A new person, or a deprovisioned one provisioned again (the same record, history kept)."""
    user = _validated(ScimUser, _with_manager_refs(payload, base_url), Context.RESOURCE_CREATION_REQUEST)
    email = (user.user_name or "").strip().lower()
    existing = db.session.execute(select(User).where(User.email == email)).scalar()
    if existing is not None and existing.deprovisioned_at is None:
        raise ScimError(f"A User with userName {email} already exists.", status=409, scim_type="uniqueness")
    return person_view(_save(caller, existing, user))


def replace_user(caller: ScimCaller, user_id: str, payload: dict, base_url: str) -> PersonView:
    person = _person(user_id)
    user = _validated(ScimUser, _with_manager_refs(payload, base_url), Context.RESOURCE_REPLACEMENT_REQUEST)
    return person_view(_save(caller, person, user))


def patch_user(caller: ScimCaller, user_id: str, payload: dict, base_url: str) -> PersonView:
    """Apply the operations to the User as it is, then save the result like a replacement."""
    person = _person(user_id)
    patch = _validated(
        PatchOp[ScimUser], _patch_manager_refs(payload, base_url), Context.RESOURCE_PATCH_REQUEST, PATCH_POLICY
    )
    user = user_resource(person_view(person), base_url)
    try:
        with PATCH_POLICY:
            patch.patch(user)
    except SCIMException as error:
        raise ScimError(error.detail, status=error.status, scim_type=error.scim_type or None) from None
    except (ValidationError, ValueError) as error:
        raise ScimError(_first_problem(error), scim_type="invalidValue") from None
    return person_view(_save(caller, person, user))


def delete_user(caller: ScimCaller, user_id: str) -> None:
    """DELETE deprovisions: the person is deactivated (sessions ended) and hidden from SCIM, never deleted."""
    person = _person(user_id)
    _staff_call(deprovision_person, caller.actor, person.id, ip_address=caller.ip_address)


def _validated(model, payload: dict, context: Context, policy: ScimPolicy = POLICY):
    try:
        return model.model_validate(payload, scim_ctx=context, scim_policy=policy)
    except SCIMException as error:
        raise ScimError(error.detail, status=error.status, scim_type=error.scim_type or "invalidSyntax") from None
    except ValidationError as error:
        raise ScimError(_first_problem(error), scim_type=_scim_type(error)) from None


def _scim_type(error: ValidationError) -> str:
    """scim2-models tags its own findings (scim_invalidPath...); anything else is a malformed body."""
    for problem in error.errors():
        kind = problem.get("type", "")
        if kind.startswith("scim_") and kind != "scim_error":
            return kind.removeprefix("scim_")
    return "invalidSyntax"


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError) and error.errors():
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()))
        return f"{where}: {problem.get('msg', '')}" if where else problem.get("msg", "")
    return str(error)


def _manager_ref(value, base_url: str):
    """Entra ID sends the manager as its id alone, Okta often without $ref: both become {value, $ref}."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = {"value": str(value)}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"{base_url}/Users/{value['value']}"}
    return value


def _with_manager_refs(payload: dict, base_url: str) -> dict:
    extension = payload.get(ENTERPRISE_SCHEMA)
    if isinstance(extension, dict) and "manager" in extension:
        manager = _manager_ref(extension["manager"], base_url)
        payload = {**payload, ENTERPRISE_SCHEMA: {**extension, "manager": manager}}
    return payload


def _patch_manager_refs(payload: dict, base_url: str) -> dict:
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return payload
    fixed = []
    for operation in operations:
        if isinstance(operation, dict) and str(operation.get("path", "")).lower().endswith("manager"):
            operation = {**operation, "value": _manager_ref(operation.get("value"), base_url)}
            if operation["value"] is None:
                del operation["value"]
        elif isinstance(operation, dict) and isinstance(operation.get("value"), dict):
            operation = {**operation, "value": _with_manager_refs(operation["value"], base_url)}
        fixed.append(operation)
    return {**payload, "Operations": fixed}


def _save(caller: ScimCaller, person: User | None, user) -> User:
    """Write a SCIM User onto a person (new when None) through the staff services, in one transaction."""
    data = _person_input(user, person)
    actor = caller.actor
    with transaction():
        if person is None:
            person = _staff_call(create_person, actor, data, ip_address=caller.ip_address)
        elif person.deprovisioned_at is not None or (not person.active and user.active is not False):
            _staff_call(reactivate_person, actor, person.id, ip_address=caller.ip_address)
        if data != _current_input(person):
            _staff_call(update_person, actor, person.id, data, ip_address=caller.ip_address)
        person.external_id = user.external_id
        if user.active is False and person.active:
            _staff_call(deactivate_person, actor, person.id, ip_address=caller.ip_address)
    return person


def _staff_call(function, *args, **kwargs):
    """A staff service call, its refusals turned into SCIM errors (the transaction rolls back)."""
    try:
        return function(*args, **kwargs)
    except InvalidFields as error:
        raise _field_error(error.errors) from None
    except Forbidden as error:
        raise ScimError(error.message, status=403) from None
    except Conflict as error:
        raise ScimError(error.message, status=409, scim_type="uniqueness") from None


def _field_error(errors: dict[str, str]) -> ScimError:
    message = " ".join(errors.values())
    if any("Another person already has" in errors.get(field, "") for field in ("email", "employee_id")):
        return ScimError(message, status=409, scim_type="uniqueness")
    return ScimError(message, scim_type="invalidValue")


def _person_input(user, person: User | None) -> PersonInput:
    """The staff record a SCIM User asks for; what SCIM does not carry (hire date, role) is kept."""
    enterprise = user[EnterpriseUser] or EnterpriseUser()
    manager_email = ""
    if enterprise.manager is not None and enterprise.manager.value:
        manager_email = _manager_email(enterprise.manager.value)
    department_id, new_department = _department(enterprise.department)
    return PersonInput(
        employee_id=enterprise.employee_number or "",
        name=_name(user, person.name if person else ""),
        email=user.user_name or "",
        department_id=department_id,
        new_department=new_department,
        job_title=user.title or "",
        hire_date=person.hire_date if person else None,
        manager_email=manager_email,
        role=person.role if person else "staff",
    )


def _current_input(person: User) -> PersonInput:
    return PersonInput(
        employee_id=person.employee_id or "",
        name=person.name,
        email=person.email,
        department_id=person.department_id,
        new_department="",
        job_title=person.job_title,
        hire_date=person.hire_date,
        manager_email=person.manager.email if person.manager else "",
        role=person.role,
    )


def _name(user, current: str) -> str:
    """The first name form that says something new: given and family name, formatted name, display name.

    A PATCH starts from the User as we show it (formatted and display name both the current name), so the
    form the client changed is the one that differs. We keep one name: a given or family name sent alone
    replaces the first word, or the words after it, of the current name.
    """
    name = user.name
    given, family = (name.given_name, name.family_name) if name else (None, None)
    first, _, rest = current.partition(" ")
    if given and family:
        parts = f"{given} {family}"
    elif given or family:
        parts = f"{given or first} {family or rest}".strip()
    else:
        parts = ""
    candidates = [parts, name.formatted if name else None, user.display_name]
    candidates = [" ".join(c.split()) for c in candidates if c and c.strip()]
    if not candidates:
        raise ScimError(
            "Give the person's name: name.formatted, name.givenName or displayName.", scim_type="invalidValue"
        )
    return next((c for c in candidates if c != current), candidates[0])


def _manager_email(value: str) -> str:
    manager = db.session.get(User, int(value)) if value.isdigit() and len(value) < 18 else None
    if manager is None or manager.deprovisioned_at is not None:
        raise ScimError(f"There is no User with id {value} to be the manager.", scim_type="invalidValue")
    return manager.email


def _department(name: str | None) -> tuple[int | None, str]:
    """A department by name (ignoring case); an unknown one is created only with SCIM_CREATE_DEPARTMENTS."""
    if not name or not name.strip():
        return None, ""
    found = department_named(name)
    if found is not None:
        return found.id, ""
    if not current_app.config["SCIM_CREATE_DEPARTMENTS"]:
        raise ScimError(
            f'There is no department called "{name.strip()}". Ask HR to create it, or set SCIM_CREATE_DEPARTMENTS.',
            scim_type="invalidValue",
        )
    return None, name
