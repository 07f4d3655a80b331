"""HR's requirements, and the obligations derived from them for each active person.

A `Requirement` is a rule HR writes ("everyone in Pharmacy completes Patient confidentiality within
30 days of hire, again every 12 months"). An `Obligation` is what the rules mean for one person and
one course or policy: a due date, the date the counting completion is valid until, and whether they
have started. Obligations are derived data, rebuilt from the rules and the records whenever either
changes (`compliance.obligations.refresh_obligations`); the status itself is never stored, because it
depends on today's date (see `compliance.rules`).
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.auth.models import Department, User
from training.content.models import Course
from training.db import CreatedAtMixin, create_triggers_with, utcnow
from training.extensions import db
from training.policies.models import Policy

ONE_ITEM = "(course_id IS NULL) <> (policy_id IS NULL)"


class Requirement(CreatedAtMixin, db.Model):
    """Who must complete a course (or attest to a policy), within how many days, and how often again.

    An empty department and job title means everyone. Retired rules are kept for the record.
    """

    __table_args__ = (
        CheckConstraint(ONE_ITEM, name="one_item"),
        CheckConstraint("due_within_days BETWEEN 0 AND 3650", name="due_within_range"),
        CheckConstraint("recertify_months IS NULL OR recertify_months BETWEEN 1 AND 120", name="recertify_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    job_title: Mapped[str] = mapped_column(String(120), default="")
    due_within_days: Mapped[int] = mapped_column(default=30)
    recertify_months: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    retired_at: Mapped[datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    course: Mapped[Course | None] = relationship()
    policy: Mapped["Policy | None"] = relationship()
    department: Mapped[Department | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Obligation(db.Model):
    """One active person's obligation for one required course or policy (derived; see module docstring).

    `completed_on` is the day of the completion or attestation that counts for the requirement (None
    when there is none, or a material policy change superseded it); `valid_until` is the last day it
    counts (None: no expiry). `due_on` is the day by which the item must be done (again).
    `department_id` is copied from the person so that the dashboard aggregates one table.
    """

    __table_args__ = (
        CheckConstraint(ONE_ITEM, name="one_item"),
        UniqueConstraint("user_id", "course_id"),
        UniqueConstraint("user_id", "policy_id"),
        Index("ix_obligation_department_due", "department_id", "due_on"),
        Index("ix_obligation_department_user", "department_id", "user_id"),
        Index("ix_obligation_valid_until", "valid_until"),
        # The open obligations by due day: who is overdue, due soon or not started, without reading the rest.
        Index(
            "ix_obligation_open_due",
            "due_on",
            "user_id",
            sqlite_where=text("completed_on IS NULL"),
            postgresql_where=text("completed_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), index=True)
    due_on: Mapped[date]
    completed_on: Mapped[date | None]
    valid_until: Mapped[date | None]
    started: Mapped[bool] = mapped_column(default=False)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ObligationCount(db.Model):
    """How many obligations share a department, whether they are completed or started, and their deciding day.

    The deciding day is `due_on` for an open obligation, `valid_until` for a completed one (`NEVER`: no
    expiry): with today's date and the due-soon window it decides the status, so the dashboard's counts per
    status are a sum over these rows. Kept by `compliance.counts` in the transaction that writes obligations;
    `department_key` is 0 for no department, because a key column cannot be NULL for ON CONFLICT to match.
    No CHECK keeps the counts from going negative: both databases check a row before they find its conflict,
    and a difference is inserted as it is (-1); `flask compliance reconcile` finds a count gone wrong.
    """

    # The organisation-wide dashboard sums ranges of days per bucket from this index alone.
    __table_args__ = (Index("ix_obligation_count_status", "completed", "started", "day", "obligations"),)

    department_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    completed: Mapped[bool] = mapped_column(primary_key=True)
    started: Mapped[bool] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    obligations: Mapped[int] = mapped_column(default=0)


class FirstBreachCount(db.Model):
    """How many people of a department have the same first breach day: the earliest deciding day of their
    obligations (see `ObligationCount`). A person is out of compliance on every day after it, so the people
    behind in a department on any date are one sum. A person counts once per department of their obligations.
    """

    # "Not compliant" for everyone (the people list's total) sums the days before today from this index alone.
    __table_args__ = (Index("ix_first_breach_count_day", "day", "people"),)

    department_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    people: Mapped[int] = mapped_column(default=0)


class PeopleCount(db.Model):
    """How many active people a department has (`department_key` 0: no department): the people list's total.

    Kept by triggers on `user` (below), so that every write moves it, the ORM's and the bulk statements of the
    staff import, the HR feed and SCIM alike, in the writing transaction; `flask compliance reconcile` recounts it.
    """

    department_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    people: Mapped[int] = mapped_column(default=0)


# The same statements run in migration 0015; these listeners cover schemas made by create_all, after every table.
_ADD_PEOPLE = (
    "INSERT INTO people_count (department_key, people) {rows} "
    "ON CONFLICT (department_key) DO UPDATE SET people = people_count.people + excluded.people"
)
SQLITE_PEOPLE_TRIGGERS = (
    'CREATE TRIGGER people_count_insert AFTER INSERT ON "user" WHEN NEW.active BEGIN '
    + _ADD_PEOPLE.format(rows="VALUES (COALESCE(NEW.department_id, 0), 1)")
    + "; END",
    'CREATE TRIGGER people_count_delete AFTER DELETE ON "user" WHEN OLD.active BEGIN '
    + _ADD_PEOPLE.format(rows="VALUES (COALESCE(OLD.department_id, 0), -1)")
    + "; END",
    'CREATE TRIGGER people_count_update AFTER UPDATE OF active, department_id ON "user" '
    "WHEN OLD.active IS NOT NEW.active OR OLD.department_id IS NOT NEW.department_id BEGIN "
    + _ADD_PEOPLE.format(rows="SELECT COALESCE(OLD.department_id, 0), -1 WHERE OLD.active")
    + "; "
    + _ADD_PEOPLE.format(rows="SELECT COALESCE(NEW.department_id, 0), 1 WHERE NEW.active")
    + "; END",
)
POSTGRESQL_PEOPLE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION people_count_follow_user() RETURNS trigger AS $$\n"
    "BEGIN\n"
    "    IF TG_OP <> 'INSERT' THEN\n"
    "        IF OLD.active THEN\n"
    "            " + _ADD_PEOPLE.format(rows="VALUES (COALESCE(OLD.department_id, 0), -1)") + ";\n"
    "        END IF;\n"
    "    END IF;\n"
    "    IF TG_OP <> 'DELETE' THEN\n"
    "        IF NEW.active THEN\n"
    "            " + _ADD_PEOPLE.format(rows="VALUES (COALESCE(NEW.department_id, 0), 1)") + ";\n"
    "        END IF;\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END;\n"
    "$$ LANGUAGE plpgsql"
)
POSTGRESQL_PEOPLE_TRIGGERS = (
    POSTGRESQL_PEOPLE_FUNCTION,
    'CREATE TRIGGER people_count_insert_delete AFTER INSERT OR DELETE ON "user" '
    "FOR EACH ROW EXECUTE FUNCTION people_count_follow_user()",
    'CREATE TRIGGER people_count_update AFTER UPDATE OF active, department_id ON "user" FOR EACH ROW '
    "WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.department_id IS DISTINCT FROM NEW.department_id) "
    "EXECUTE FUNCTION people_count_follow_user()",
)

create_triggers_with(
    db.metadata, SQLITE_PEOPLE_TRIGGERS, POSTGRESQL_PEOPLE_TRIGGERS, function="people_count_follow_user"
)
