"""From an identity the provider vouched for to one of our people: link, create just in time, or refuse.

The rules (issue 18, "Who may come in"): an identity already linked signs its person in. Otherwise the
person is found by employee id (the configured claims or attributes), then, only with
SSO_LINK_BY_EMAIL=1, by an email address the provider says it verified; the link is stored so the
next sign-in needs neither. Nobody found: refused, unless SSO_CREATE_ACCOUNTS=1 creates them as
staff. Deactivated people are refused whatever the provider says. Roles come from the provider only
through SSO_ROLE_GROUPS.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from training import events
from training.audit.services import record_event
from training.auth.departments import add_department, department_named
from training.auth.models import ROLES, User
from training.auth.passwords import unusable_password_hash
from training.db import utcnow
from training.errors import DomainError
from training.extensions import db
from training.sso.models import SsoIdentity
from training.sso.settings import SsoRules
from training.visible_text import text_problem, tidy

# The most powerful role a person's groups give wins.
ROLE_PRECEDENCE = ("admin", "hr", "author", "manager")
MAX_LENGTHS = {"employee_id": 64, "name": 200, "department": 120, "job_title": 120}


@dataclass(frozen=True)
class IdpIdentity:
    """What a protocol hands over once it has checked the provider's signature and conditions."""

    protocol: str
    issuer: str
    subject: str
    email: str = ""
    email_verified: bool = False
    name: str = ""
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    authn_context: str = ""

    def first(self, names: tuple[str, ...]) -> str:
        """The first non-empty value among these claims or attributes, tidied; "" when none has one."""
        for name in names:
            for value in self.attributes.get(name, ()):
                if tidy(str(value)):
                    return tidy(str(value))
        return ""

    def all_values(self, names: tuple[str, ...]) -> set[str]:
        return {str(value).strip() for name in names for value in self.attributes.get(name, ())}


class SsoRefused(DomainError):
    """The provider vouched for someone we must not let in; `reason` names why, for the audit."""

    status = 403
    code = "sso_refused"

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


UNKNOWN = "Your organization's sign-in worked, but there is no training record for you here yet."
DEACTIVATED = "Your training account has been deactivated."
LINKED_ELSEWHERE = "Your training record is already linked to another account at your organization's sign-in service."


def person_for_identity(identity: IdpIdentity, rules: SsoRules, *, ip_address: str = "") -> User:
    """The active person this identity signs in, linking or creating them as the rules allow; commits.

    Raises SsoRefused (nothing written) for someone unknown, deactivated or already linked to another
    identity of the same provider.
    """
    link = db.session.execute(
        select(SsoIdentity).where(SsoIdentity.issuer == identity.issuer, SsoIdentity.subject == identity.subject)
    ).scalar_one_or_none()
    person = link.user if link else _matching_person(identity, rules)
    if person is None and rules.create_accounts:
        person = _create_person(identity, rules, ip_address)
    if person is None:
        raise SsoRefused("unknown_person", UNKNOWN)
    if not person.active:
        raise SsoRefused("deactivated", DEACTIVATED)
    if link is None:
        link = _link(person, identity, ip_address)
    link.last_sign_in_at = utcnow()
    _apply_role_groups(person, identity, rules, ip_address)
    db.session.commit()
    return person


def _matching_person(identity: IdpIdentity, rules: SsoRules) -> User | None:
    employee_id = identity.first(rules.employee_id_attributes)
    if employee_id:
        person = db.session.execute(select(User).where(User.employee_id == employee_id)).scalar_one_or_none()
        if person is not None:
            return person
    if rules.link_by_email and identity.email_verified and identity.email.strip():
        email = identity.email.strip().lower()
        return db.session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
    return None


def _link(person: User, identity: IdpIdentity, ip_address: str) -> SsoIdentity:
    already = db.session.execute(
        select(SsoIdentity.id).where(SsoIdentity.user_id == person.id, SsoIdentity.issuer == identity.issuer)
    ).first()
    if already is not None:
        raise SsoRefused("linked_elsewhere", LINKED_ELSEWHERE)
    link = SsoIdentity(user_id=person.id, protocol=identity.protocol, issuer=identity.issuer, subject=identity.subject)
    db.session.add(link)
    db.session.flush()
    record_event(
        "sso.linked",
        actor_id=None,
        subject_type="user",
        subject_id=str(person.id),
        details={"protocol": identity.protocol, "issuer": identity.issuer, "subject": identity.subject},
        ip_address=ip_address,
    )
    return link


def _checked_value(identity: IdpIdentity, what: str, names: tuple[str, ...]) -> str:
    value = identity.first(names)
    problem = text_problem(value)
    if problem is not None or len(value) > MAX_LENGTHS[what]:
        raise SsoRefused("claims", f"Your organization's sign-in sent a {what.replace('_', ' ')} this site cannot use.")
    return value


def _create_person(identity: IdpIdentity, rules: SsoRules, ip_address: str) -> User:
    """SSO_CREATE_ACCOUNTS=1: a new staff member from the provider's claims, obligations applying at once."""
    try:
        email = validate_email(identity.email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise SsoRefused("claims", "Your organization's sign-in did not send a usable email address.") from None
    if db.session.execute(select(User.id).where(func.lower(User.email) == email)).first() is not None:
        raise SsoRefused("claims", "Another training record already uses your email address. Ask HR to link them.")
    name = _checked_value(identity, "name", rules.name_attributes) or identity.name.strip()
    if not name or text_problem(name) or len(name) > MAX_LENGTHS["name"]:
        raise SsoRefused("claims", "Your organization's sign-in did not send your name.")
    employee_id = _checked_value(identity, "employee_id", rules.employee_id_attributes) or None
    department_name = _checked_value(identity, "department", rules.department_attributes)
    person = User(
        email=email,
        name=name,
        password_hash=unusable_password_hash(),  # no password: SSO signs them in
        role="staff",
        job_title=_checked_value(identity, "job_title", rules.job_title_attributes),
        department=(department_named(department_name) or add_department(department_name)) if department_name else None,
        employee_id=employee_id,
        active=True,
    )
    db.session.add(person)
    db.session.flush()
    record_event(
        "staff.created",
        actor_id=None,
        subject_type="user",
        subject_id=str(person.id),
        details={"source": f"sso:{identity.protocol}", "issuer": identity.issuer},
        ip_address=ip_address,
    )
    events.publish(events.person_changed, "sso", user_ids=[person.id])
    return person


def role_from_groups(groups: set[str], role_groups: Mapping[str, tuple[str, ...]]) -> str | None:
    """The most powerful mapped role these groups give, or None when they give none."""
    for role in ROLE_PRECEDENCE:
        if groups & set(role_groups.get(role, ())):
            return role
    return None


def _apply_role_groups(person: User, identity: IdpIdentity, rules: SsoRules, ip_address: str) -> None:
    """With SSO_ROLE_GROUPS, the mapped roles follow the provider's groups at every sign-in.

    A role that is not in the map is never given or taken by the provider (an admin made by hand
    stays an admin when only hr is mapped); a person removed from the mapped group goes back to staff.
    """
    if not rules.role_groups:
        return
    role = role_from_groups(identity.all_values(rules.groups_attributes), rules.role_groups)
    if role is None:
        role = "staff" if person.role in rules.role_groups else person.role
    if role == person.role or role not in ROLES:
        return
    record_event(
        "staff.role_changed",
        actor_id=None,
        subject_type="user",
        subject_id=str(person.id),
        details={"from": person.role, "to": role, "source": f"sso:{identity.protocol}"},
        ip_address=ip_address,
    )
    person.role = role
    events.publish(events.person_changed, "sso", user_ids=[person.id])
