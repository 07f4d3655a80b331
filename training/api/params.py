"""Query parameters of the API, checked before anything is looked up (pure: no Flask, no database).

Every rejection is a 422 that names the parameter, so an integrator can fix the call from the
message alone.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from training.compliance import rules
from training.errors import DomainError

NON_COMPLIANT = "non_compliant"
STATUS_VALUES = (*rules.STATUSES, NON_COMPLIANT)
ITEM_KINDS = ("course", "policy")
ITEM_PATTERN = re.compile(r"(course|policy):([^\x00-\x1f\x7f]{1,64})")
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
MAX_PAGE = 999_999_999
TEXT_LIMITS = {"q": 200, "department": 120, "job_title": 120}


class InvalidParameter(DomainError):
    status = 422
    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class ComplianceQuery:
    """The compliance list's filters as sent: names and slugs, resolved to ids by the service."""

    q: str = ""
    department: str = ""
    job_title: str = ""
    item_kind: str = ""
    item_slug: str = ""
    status: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def as_args(self) -> dict[str, str | int]:
        """The parameters that reproduce this query (for pagination links), without empty ones."""
        args = {
            "q": self.q,
            "department": self.department,
            "job_title": self.job_title,
            "item": f"{self.item_kind}:{self.item_slug}" if self.item_kind else "",
            "status": self.status,
        }
        return {k: v for k, v in args.items() if v} | {"per_page": self.per_page}


def parse_compliance_query(args: Mapping[str, str]) -> ComplianceQuery:
    item_kind, item_slug = _item(args.get("item", ""))
    return ComplianceQuery(
        q=_text(args, "q"),
        department=_text(args, "department"),
        job_title=_text(args, "job_title"),
        item_kind=item_kind,
        item_slug=item_slug,
        status=_status(args.get("status", "")),
        page=_whole_number(args, "page", 1, MAX_PAGE, 1),
        per_page=_whole_number(args, "per_page", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE),
    )


def _text(args: Mapping[str, str], name: str) -> str:
    value = args.get(name, "").strip()
    if CONTROL_CHARACTERS.search(value):
        raise InvalidParameter(name, f"{name} must not contain control characters.")
    if len(value) > TEXT_LIMITS[name]:
        raise InvalidParameter(name, f"{name} has at most {TEXT_LIMITS[name]} characters.")
    return value


def _item(raw: str) -> tuple[str, str]:
    raw = raw.strip()
    if not raw:
        return "", ""
    match = ITEM_PATTERN.fullmatch(raw)
    if match is None:
        raise InvalidParameter("item", "item must be course:<course slug> or policy:<policy slug>.")
    return match.group(1), match.group(2)


def _status(raw: str) -> str:
    raw = raw.strip()
    if raw and raw not in STATUS_VALUES:
        raise InvalidParameter("status", f"status must be one of: {', '.join(STATUS_VALUES)}.")
    return raw


def _whole_number(args: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidParameter(name, f"{name} must be a whole number from {low} to {high}.")
    return int(raw)
