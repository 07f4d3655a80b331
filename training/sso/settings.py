"""The single sign-on rules an organisation chooses, read from the environment and checked at start-up."""

from collections.abc import Mapping
from dataclasses import dataclass

from training.auth.models import ROLES

PASSWORD_SIGN_IN_MODES = ("on", "admins-only")


@dataclass(frozen=True)
class SsoRules:
    """Who may come in through the identity provider, and how a person is found or made.

    Attribute settings are comma lists of claim or attribute names, tried in order, so one setting
    serves OpenID Connect claims (`employee_id`) and SAML attributes (`employeeNumber`) alike.
    """

    employee_id_attributes: tuple[str, ...]
    name_attributes: tuple[str, ...]
    department_attributes: tuple[str, ...]
    job_title_attributes: tuple[str, ...]
    groups_attributes: tuple[str, ...]
    role_groups: Mapping[str, tuple[str, ...]]  # role -> the identity provider's groups that give it
    link_by_email: bool
    create_accounts: bool
    two_step: bool
    contact: str
    password_sign_in: str
    password_accounts: frozenset[str]

    def password_allowed(self, email: str, role: str) -> bool:
        """PASSWORD_SIGN_IN=admins-only keeps passwords for admins and the named break-glass accounts."""
        if self.password_sign_in == PASSWORD_SIGN_IN_MODES[0]:
            return True
        return role == "admin" or email.strip().lower() in self.password_accounts


def _names(raw: str, default: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in (raw or default).split(",") if name.strip())


def _flag(config: Mapping, name: str) -> bool:
    if isinstance(config.get(name), bool):
        return config[name]
    raw = str(config.get(name) or "0").strip()
    if raw not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, not {raw!r}")
    return raw == "1"


def parse_role_groups(raw: str) -> dict[str, tuple[str, ...]]:
    """`hr=Training-HR;author=Training-Authors,Content-Team` -> {"hr": ("Training-HR",), ...}.

    Roles come from the identity provider only through this explicit map; an unknown role or an
    entry without groups is refused at start-up rather than ignored.
    """
    mapping: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        role, _, groups = entry.partition("=")
        role = role.strip()
        names = tuple(group.strip() for group in groups.split(",") if group.strip())
        if role not in ROLES or role == "staff":
            raise ValueError(f"SSO_ROLE_GROUPS: {role!r} is not a role groups can give ({', '.join(ROLES[1:])})")
        if not names:
            raise ValueError(f"SSO_ROLE_GROUPS: name the groups that give the {role} role ({role}=Group-Name)")
        mapping[role] = names
    return mapping


def sso_rules(config: Mapping) -> SsoRules:
    """The rules from the app's settings; a wrong value stops the start with the setting's name."""
    password_sign_in = str(config.get("PASSWORD_SIGN_IN") or "on").strip()
    if password_sign_in not in PASSWORD_SIGN_IN_MODES:
        modes = ", ".join(PASSWORD_SIGN_IN_MODES)
        raise ValueError(f"PASSWORD_SIGN_IN must be one of {modes}, not {password_sign_in!r}")
    accounts = str(config.get("PASSWORD_SIGN_IN_ACCOUNTS", ""))
    return SsoRules(
        employee_id_attributes=_names(config.get("SSO_EMPLOYEE_ID_ATTRIBUTE", ""), "employee_id,employeeNumber"),
        name_attributes=_names(config.get("SSO_NAME_ATTRIBUTE", ""), "name,displayName"),
        department_attributes=_names(config.get("SSO_DEPARTMENT_ATTRIBUTE", ""), "department"),
        job_title_attributes=_names(config.get("SSO_JOB_TITLE_ATTRIBUTE", ""), "job_title,title"),
        groups_attributes=_names(config.get("SSO_GROUPS_ATTRIBUTE", ""), "groups"),
        role_groups=parse_role_groups(str(config.get("SSO_ROLE_GROUPS", ""))),
        link_by_email=_flag(config, "SSO_LINK_BY_EMAIL"),
        create_accounts=_flag(config, "SSO_CREATE_ACCOUNTS"),
        two_step=_flag(config, "SSO_TWO_STEP"),
        contact=str(config.get("SSO_CONTACT", "")).strip(),
        password_sign_in=password_sign_in,
        password_accounts=frozenset(e.strip().lower() for e in accounts.split(",") if e.strip()),
    )
