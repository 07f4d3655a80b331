"""What "My training" says of each course and what it puts first (training/compliance/learner_home.py)."""

from datetime import UTC, date, datetime, timedelta

from training.clock import format_day
from training.compliance import learner_home, rules
from training.compliance.requirements import Item
from training.compliance.status import Cell
from training.content.catalog import CourseView, ModuleView
from training.courses import rules as course_rules
from training.courses.progress import CompletionRecord, CycleAttempts
from training.courses.services import CourseProgress

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MODULES = tuple(ModuleView(n, 1, f"m{n}", n, f"Module {n}", "", "") for n in (1, 2, 3))
COURSE = CourseView(1, "hygiene", "Hand hygiene", "", 80, 10, 12, 30, 1, True, None, 0, MODULES)


def day(value):
    return format_day(value.date() if isinstance(value, datetime) else value)


def progress(done=(), attempts=None, completion=None, expires_at=None):
    attempts = attempts or CycleAttempts()
    facts = course_rules.ProgressFacts(
        now=NOW,
        modules_total=len(MODULES),
        modules_done=len(done),
        attempts_in_cycle=attempts.started,
        passed_in_cycle=attempts.passed,
        last_completed_at=completion.completed_at if completion else None,
        last_expires_at=expires_at or (completion.expires_at if completion else None),
    )
    cycle = 1 if completion else 0
    return CourseProgress(COURSE, cycle, facts, completion, frozenset(done), attempts)


def completion(days_ago=30, valid_days=335, serial="ABCD", revoked_at=None):
    completed = NOW - timedelta(days=days_ago)
    return CompletionRecord(0, 90, 1, completed, completed + timedelta(days=valid_days), serial, revoked_at)


def cell(status, due_on, completed_on=None, valid_until=None, kind="course", title="Hand hygiene"):
    dates = rules.ObligationDates(due_on, completed_on, valid_until, started=False)
    return Cell(Item(kind, 1, title), status, rules.status_detail(status, dates, format_day), dates)


def card(p, c=None):
    return learner_home.course_card(p, c, day)


def test_a_new_course_starts_at_its_first_module_and_says_nothing_in_progress():
    shown = card(progress())
    assert (shown.status, shown.detail, shown.note) == ("not_started", "", "")
    assert (shown.step.label, shown.step.module_slug) == ("Start", "m1")


def test_a_started_course_says_how_many_modules_are_read_and_continues_at_the_next_unread():
    shown = card(progress(done=(1, 3)))
    assert shown.note == "2 of 3 modules read"
    assert (shown.step.label, shown.step.module_slug) == ("Continue", "m2")


def test_an_open_quiz_attempt_is_named_with_its_day_even_at_no_progress():
    shown = card(progress(attempts=CycleAttempts(started=1, open_since=datetime(2026, 12, 6, 15, tzinfo=UTC))))
    assert shown.note == "Quiz started on 6 Dec 2026, not submitted"
    assert (shown.step.label, shown.step.kind) == ("Continue", "quiz")


def test_every_module_read_points_to_the_quiz():
    assert card(progress(done=(1, 2, 3))).note == "All 3 modules read; the quiz is next"
    failed = card(progress(done=(1, 2, 3), attempts=CycleAttempts(started=1, submitted=1, last_passed=False)))
    assert failed.note == "All 3 modules read; the quiz is not passed yet" and failed.step.kind == "quiz"


def test_a_current_completion_has_one_status_with_its_date_and_the_certificate_as_the_step():
    done = completion()
    shown = card(progress(completion=done))
    assert (shown.status, shown.detail, shown.note) == ("completed", f"valid until {day(done.expires_at)}", "")
    assert (shown.step.label, shown.step.certificate_serial) == ("Certificate", "ABCD")


def test_an_expired_course_is_retaken_and_says_why():
    old = completion(days_ago=400)
    shown = card(progress(completion=old))
    assert shown.status == "expired" and shown.detail == f"expired {day(old.expires_at)}"
    assert shown.note == "Please complete the course again." and shown.step.label == "Retake"
    revoked = completion(revoked_at=NOW - timedelta(days=2))
    shown = card(progress(completion=revoked, expires_at=revoked.revoked_at))
    assert shown.note == f"Certificate revoked {day(revoked.revoked_at)}: please complete the course again."


def test_a_required_course_shows_the_compliance_status_instead_of_its_own():
    required = cell(rules.DUE_SOON, date(2026, 12, 26))
    shown = card(progress(done=(1,)), required)
    assert (shown.status, shown.detail, shown.required) == ("due_soon", "due 26 Dec 2026", True)
    assert shown.note == "1 of 3 modules read"


def test_first_things_are_the_urgent_items_most_urgent_first_with_their_day():
    cells = {
        1: cell(rules.DUE_SOON, date(2026, 12, 26), title="Hand hygiene"),
        2: cell(rules.OVERDUE, date(2026, 12, 3), title="Fire safety"),
        3: cell(rules.COMPLETED, date(2027, 6, 1), date(2026, 6, 1), date(2027, 6, 1), title="Privacy"),
        4: cell(rules.DUE_SOON, date(2026, 12, 20), date(2025, 12, 20), date(2026, 12, 20), title="Lifting"),
    }
    slugs = {1: "hygiene", 2: "fire", 3: "privacy", 4: "lifting"}
    things = learner_home.first_things(cells, slugs, [], day)
    assert [(t.label, t.title, t.when) for t in things] == [
        ("Overdue", "Fire safety", "since 4 Dec 2026"),
        ("Due soon", "Lifting", "renew by 20 Dec 2026"),
        ("Due soon", "Hand hygiene", "by 26 Dec 2026"),
    ]
    assert things[0].course_slug == "fire"
