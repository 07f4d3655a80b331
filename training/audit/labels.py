"""Readable names for audit actions, and a compact text of an event's details. Pure: no Flask, no database.

Actions are `<subject>.<verb>` strings. Every action the app records has a label here (a test
checks the code for `record_event` calls); one this map does not know yet (say, from a newer
version's rows) is still shown, made readable from its name.
"""

from collections.abc import Iterator

ACTION_GROUPS: dict[str, str] = {
    "access.": "Access",
    "user.": "Sign-in and accounts",
    "mfa.": "Two-step sign-in",
    "session.": "Sessions",
    "password.": "Passwords",
    "staff.": "Staff records",
    "department.": "Departments",
    "requirement.": "Requirements",
    "attempt_allowance.": "Quiz attempts",
    "policy.": "Policies",
    "certificate.": "Certificates",
    "compliance.": "Compliance exports",
    "transcript.": "Transcripts",
    "audit_packet.": "Audit packets",
    "audit.": "Audit record",
    "api_token.": "API tokens",
    "scim_token.": "SCIM tokens",
    "sso.": "Single sign-on",
    "question.": "Questions (authoring)",
    "question_bank.": "Question banks (authoring)",
    "course.": "Courses (authoring)",
    "module.": "Modules (authoring)",
}

ACTION_LABELS: dict[str, str] = {
    "access.denied": "Access refused",
    "staff.created": "Person added",
    "staff.updated": "Person's record changed",
    "staff.deactivated": "Person deactivated",
    "staff.reactivated": "Person reactivated",
    "staff.imported": "Staff file imported",
    "staff.synced": "HR staff feed run",
    "staff.deprovisioned": "Person deprovisioned by the identity provider",
    "staff.role_changed": "Role changed by the identity provider's groups",
    "user.sso_refused": "Single sign-on refused",
    "sso.linked": "Single sign-on identity linked",
    "sso.unlinked": "Single sign-on link removed",
    "department.created": "Department added",
    "department.renamed": "Department renamed",
    "requirement.created": "Requirement added",
    "requirement.retired": "Requirement retired",
    "attempt_allowance.granted": "Extra quiz attempts granted",
    "policy.created": "Policy created",
    "policy.version_published": "Policy version published",
    "policy.retired": "Policy retired",
    "policy.attested": "Policy attested",
    "policy.course_linked": "Course linked to a policy",
    "policy.course_unlinked": "Course unlinked from a policy",
    "certificate.downloaded": "Certificate downloaded",
    "certificate.exported": "Certificates exported",
    "certificate.rerendered": "Certificate file rendered again",
    "certificate.revoked": "Certificate revoked",
    "compliance.exported": "Compliance records exported",
    "compliance.counts_reconciled": "Overview counts recomputed",
    "transcript.exported": "Transcript exported",
    "audit_packet.exported": "Audit packet downloaded",
    "audit.exported": "Audit record exported",
    "api_token.created": "API token created",
    "api_token.revoked": "API token revoked",
    "scim_token.created": "SCIM token created",
    "scim_token.revoked": "SCIM token revoked",
    "question.created": "Question created",
    "question.saved": "Question saved",
    "question.published": "Question published",
    "question.retired": "Question retired",
    "question_bank.imported": "Questions imported",
    "question_bank.exported": "Questions exported",
    "course.created": "Course created",
    "course.settings_saved": "Course settings saved",
    "course.published": "Course published",
    "course.unpublished": "Course unpublished",
    "module.created": "Module added",
    "module.saved": "Module saved",
    "module.moved": "Module moved",
    "module.retired": "Module retired",
    "module.restored": "Module restored",
    "user.signed_in": "Signed in",
    "user.sign_in_failed": "Sign-in failed",
    "user.sign_in_throttled": "Sign-in paused (too many failures)",
    "session.revoked": "Session ended by its owner",
    "session.revoked_all": "Signed out everywhere",
    "password.changed": "Password changed",
    "password.reset_requested": "Password reset link asked for",
    "password.reset_throttled": "Password reset requests paused",
    "password.reset": "Password reset with a link",
    "mfa.enabled": "Two-step sign-in turned on",
    "mfa.disabled": "Two-step sign-in turned off",
    "mfa.verified": "Two-step code accepted",
    "mfa.failed": "Two-step code refused",
    "mfa.recovery_code_used": "Recovery code used",
    "mfa.recovery_codes_regenerated": "New recovery codes made",
    "mfa.reset": "Two-step sign-in reset by an admin",
}

DETAIL_TEXT_MAX = 200  # one value in the compact details; the CSV export has them in full


def action_label(action: str) -> str:
    """`certificate.revoked` -> "Certificate revoked"; an unknown action is made readable from its name."""
    known = ACTION_LABELS.get(action)
    if known:
        return known
    return action.replace(".", " ").replace("_", " ").strip().capitalize() or "(no action)"


def group_of(action: str) -> str:
    prefix = action.partition(".")[0] + "."
    return ACTION_GROUPS.get(prefix, "Other")


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's options by group: first all of the group (a prefix), then each action."""
    grouped: list[tuple[str, list[tuple[str, str]]]] = []
    for prefix, title in ACTION_GROUPS.items():
        actions = [(action, label) for action, label in ACTION_LABELS.items() if action.startswith(prefix)]
        grouped.append((title, [(prefix, f"All in “{title}”"), *actions]))
    return grouped


def detail_lines(details: dict) -> list[str]:
    """An event's details as short `key: value` lines: nested keys joined with dots, empty values left out."""
    lines = []
    for key, text in _flatten(details or {}, ""):
        line = f"{key}: {text}"
        lines.append(line if len(line) <= DETAIL_TEXT_MAX else line[: DETAIL_TEXT_MAX - 1] + "…")
    return lines


def _flatten(value: object, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name in sorted(value, key=str):
            yield from _flatten(value[name], f"{key}.{name}" if key else str(name))
    elif value not in (None, "", [], {}):
        yield key.replace("_", " "), _text(value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {text}" for key, text in _flatten(value, ""))
    return str(value)
