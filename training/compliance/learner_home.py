"""What "My training" shows: the items to do first, and for each course one status, what is in progress and
the one next step.

Pure: it reads a course's progress (courses) and the learner's compliance cells, and takes the function
that writes a day, so the page and the unit tests share every rule.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from training.compliance import rules
from training.compliance.status import Cell
from training.courses import rules as course_rules

URGENT = (rules.OVERDUE, rules.EXPIRED, rules.DUE_SOON)

START, CONTINUE, QUIZ, RETAKE, CERTIFICATE = "start", "continue", "quiz", "retake", "certificate"
ACTION_LABELS = {START: "Start", CONTINUE: "Continue", QUIZ: "Continue", RETAKE: "Retake", CERTIFICATE: "Certificate"}


@dataclass(frozen=True)
class NextStep:
    """The card's one button: what it does and where it goes (a module to open, the quiz, a certificate)."""

    kind: str
    module_slug: str | None = None
    certificate_serial: str | None = None

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.kind]


@dataclass(frozen=True)
class CourseCard:
    """One course on the page: its status (the compliance one when the course is required), the words after
    it, what is in progress, and the next step."""

    progress: object  # courses.services.CourseProgress
    status: str
    required: bool
    detail: str
    note: str
    step: NextStep | None


@dataclass(frozen=True)
class FirstThing:
    """An overdue, expired or due-soon item at the top of the page: "Due soon: Hand hygiene by 26 Dec 2026"."""

    status: str
    kind: str  # "course" or "policy"
    title: str
    when: str
    course_slug: str | None = None
    policy_slug: str | None = None

    @property
    def label(self) -> str:
        return rules.LABELS[self.status]


@dataclass(frozen=True)
class HomeView:
    first_things: list[FirstThing]
    cards: list[CourseCard]
    policies: list  # the policies the learner must attest to (policy_status.PolicyListing)


def home_view(courses: list, requirements, day: Callable) -> HomeView:
    """The page from the learner's course progress and their requirements (`policy_status.learner_requirements`)."""
    cells = requirements.courses
    slugs = {progress.course.id: progress.course.slug for progress in courses}
    return HomeView(
        first_things=first_things(cells, slugs, requirements.policies, day),
        cards=[course_card(progress, cells.get(progress.course.id), day) for progress in courses],
        policies=requirements.policies,
    )


def course_card(progress, cell: Cell | None, day: Callable) -> CourseCard:
    """The card of one course; `day` writes a date or a moment as the page does."""
    status = cell.status if cell else progress.status
    detail = cell.detail if cell else _course_detail(progress, day)
    return CourseCard(progress, status, cell is not None, detail, _note(progress, day), next_step(progress))


def _course_detail(progress, day: Callable) -> str:
    if progress.is_completed:
        return f"valid until {day(progress.facts.last_expires_at)}"
    if progress.status == course_rules.EXPIRED:
        return f"expired {day(progress.facts.last_expires_at)}"
    return ""


def _note(progress, day: Callable) -> str:
    """What is in progress in a started course, or why an expired one must be done again."""
    if progress.status == course_rules.IN_PROGRESS:
        return _in_progress_note(progress, day)
    if progress.status == course_rules.EXPIRED:
        return _expiry_reason(progress, day)
    return ""


def _expiry_reason(progress, day: Callable) -> str:
    last = progress.last_completion
    if last.revoked_at:
        return f"Certificate revoked {day(last.revoked_at)}: please complete the course again."
    if progress.facts.last_expires_at < last.expires_at:
        changed = day(progress.facts.last_expires_at)
        return f"A policy this course teaches changed materially on {changed}: please complete the course again."
    return "Please complete the course again."


def _in_progress_note(progress, day: Callable) -> str:
    """The open quiz, or how many modules are read."""
    facts, attempts = progress.facts, progress.attempts
    if attempts.open_since is not None:
        return f"Quiz started on {day(attempts.open_since)}, not submitted"
    if facts.modules_done < facts.modules_total:
        return f"{facts.modules_done} of {facts.modules_total} modules read"
    if attempts.submitted:
        return f"All {facts.modules_total} modules read; the quiz is not passed yet"
    return f"All {facts.modules_total} modules read; the quiz is next"


def next_step(progress) -> NextStep | None:
    """Start, Continue (the next unread module, or the quiz), Retake an expired course, or its Certificate."""
    if progress.is_completed:
        serial = progress.last_completion.certificate_serial
        return NextStep(CERTIFICATE, certificate_serial=serial) if serial else None
    unread = [m for m in progress.course.modules if m.id not in progress.done_module_ids]
    first_unread = unread[0].slug if unread else None
    if progress.status == course_rules.NOT_STARTED:
        return NextStep(START, module_slug=first_unread)
    if progress.status == course_rules.EXPIRED:
        return NextStep(RETAKE, module_slug=first_unread)
    if progress.attempts.open_since is not None or first_unread is None:
        return NextStep(QUIZ)
    return NextStep(CONTINUE, module_slug=first_unread)


def first_things(course_cells: dict, course_slugs: dict, policies: Iterable, day: Callable) -> list[FirstThing]:
    """The required courses and policies that are overdue, expired or due soon, the most urgent first.

    `course_cells` maps course ids to cells, `course_slugs` course ids to slugs, `policies` are the learner's
    policy listings (with `policy.slug` and `cell`).
    """
    things = [
        _first_thing(cell, day, course_slug=course_slugs.get(course_id))
        for course_id, cell in course_cells.items()
        if cell.status in URGENT
    ]
    things += [
        _first_thing(listing.cell, day, policy_slug=listing.policy.slug)
        for listing in policies
        if listing.cell and listing.cell.status in URGENT
    ]
    return [thing for _, thing in sorted(things, key=lambda pair: pair[0])]


def _first_thing(cell: Cell, day: Callable, course_slug=None, policy_slug=None):
    dates = cell.dates
    if cell.status == rules.OVERDUE:
        when, on = f"since {day(dates.due_on + timedelta(days=1))}", dates.due_on
    elif cell.status == rules.EXPIRED:
        when, on = f"since {day(dates.valid_until + timedelta(days=1))}", dates.valid_until
    elif dates.completed_on is not None:
        when, on = f"renew by {day(dates.valid_until)}", dates.valid_until
    else:
        when, on = f"by {day(dates.due_on)}", dates.due_on
    thing = FirstThing(cell.status, cell.item.kind, cell.item.title, when, course_slug, policy_slug)
    return (URGENT.index(cell.status), on, cell.item.title.casefold()), thing
