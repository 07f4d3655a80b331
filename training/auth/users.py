"""User accounts: creating one (with the password rules), finding one by email, a new password, deactivating and
reactivating, signing one out everywhere: what the `flask users` commands and the other areas call."""

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from training import events
from training.auth import password_rules
from training.auth.departments import add_department, department_named
from training.auth.models import ROLES, Department, User
from training.auth.passwords import hash_password
from training.auth.sessions import end_all_sessions, revoke_all_sessions
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db
from training.visible_text import text_problem, tidy


class PasswordRejected(DomainError):
    """A new password that breaks a rule; the message says which, for the person choosing it."""

    status = 422
    code = "password_rejected"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Raise PasswordRejected unless `password` meets the rules in training.auth.password_rules.

    With the account's `email`, a password containing it is refused too, and one containing the
    organisation's name (ORGANISATION_NAME) always is.
    """
    words = (current_app.config["ORGANISATION_NAME"],)
    problem = password_rules.password_problem(password, email=email or "", context_words=words)
    if problem:
        raise PasswordRejected(problem)


def get_or_create_department(name: str) -> Department:
    """The department of this name ignoring case and spacing, as staff, SCIM and SSO find it; else a new one."""
    return department_named(name) or add_department(name)


def create_user(
    email: str,
    name: str,
    password: str,
    *,
    role: str = "staff",
    department: str | None = None,
    job_title: str = "",
    password_hash: str | None = None,
    commit: bool = True,
) -> User:
    """Create an account after checking email, role, password rules and that name, department and job
    title are one line of visible text (a leading byte order mark is dropped)."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"Email is not valid: {exc}") from exc
    if role not in ROLES:
        raise DomainError(f"Role must be one of: {', '.join(ROLES)}.")
    name, job_title, department = tidy(name), tidy(job_title), tidy(department or "")
    if not name:
        raise DomainError("Name is required.")
    _check_visible_text({"Name": name, "Department": department, "Job title": job_title})
    if password_hash is None:
        check_password_rules(password, email=email)
        password_hash = hash_password(password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        role=role,
        job_title=job_title,
        department=get_or_create_department(department) if department else None,
    )
    db.session.add(user)
    db.session.flush()
    events.publish(events.person_changed, "auth", user_ids=[user.id])
    if commit:
        db.session.commit()
    return user


def _check_visible_text(values: dict[str, str]) -> None:
    for label, value in values.items():
        problem = text_problem(value)
        if problem is not None:
            raise DomainError(f"{label} contains {problem}. Remove it.")


def user_by_email(email: str) -> User:
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user with email {email}.")
    return user


def set_password(email: str, password: str) -> User:
    """Give an account a new password; its open sessions end, so old cookies stop working."""
    user = user_by_email(email)
    check_password_rules(password, email=user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user.id, reason="password_changed")
    db.session.commit()
    return user


def set_active(email: str, active: bool) -> User:
    """Activate or deactivate an account; deactivating ends every open session at once. A deactivated person
    leaves the compliance figures (and comes back when activated), as when HR deactivates them."""
    user = user_by_email(email)
    user.active = active
    if not active:
        end_all_sessions(user.id, reason="deactivated")
    events.publish(events.person_changed, "auth", user_ids=[user.id])
    db.session.commit()
    return user


def sign_out_everywhere(email: str) -> int:
    """End every open session of one account (reason "revoked"), audited; returns how many were live."""
    ended = revoke_all_sessions(user_by_email(email).id, actor_id=None)
    db.session.commit()
    return ended
