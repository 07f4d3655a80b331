"""Reminders already sent: HR's reminders page (filters, pages) and `flask reminders list`."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from training.auth.models import User
from training.auth.search import person_matches
from training.clock import today as compliance_today
from training.extensions import db
from training.paging import Page, paginate_rows
from training.reminders.models import Reminder
from training.reminders.run import KIND_NAMES


def recent_reminders(since: date):
    """Reminders sent on or after `since`, newest first, with the person's name and email (streamed)."""
    return db.session.execute(
        select(Reminder, User.name, User.email)
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.sent_on >= since)
        .order_by(Reminder.sent_on.desc(), Reminder.sent_at.desc(), Reminder.id.desc())
        .execution_options(yield_per=500)
    )


@dataclass(frozen=True)
class ReminderFilter:
    """HR's view of recent reminders: the last `days` days (today included), one kind or both, a name or email."""

    days: int = 30
    kind: str = ""
    q: str = ""


@dataclass(frozen=True)
class SentReminder:
    reminder: Reminder
    name: str
    email: str


def reminders_since(criteria: ReminderFilter) -> date:
    """The first day the filter shows: `days` days back, today included."""
    return compliance_today() - timedelta(days=criteria.days - 1)


def reminders_page(criteria: ReminderFilter, since: date, page: int = 1, per_page: int = 50) -> Page[SentReminder]:
    """One page of the reminders sent from `since` on, newest first, in two queries."""
    query = select(Reminder, User.name, User.email).join(User, User.id == Reminder.user_id)
    query = query.where(Reminder.sent_on >= since)
    if criteria.kind in KIND_NAMES:
        query = query.where(Reminder.kind == criteria.kind)
    if criteria.q:
        query = query.where(person_matches(criteria.q))
    ordered = query.order_by(Reminder.sent_on.desc(), Reminder.sent_at.desc(), Reminder.id.desc())
    return paginate_rows(ordered, page, per_page).map(lambda row: SentReminder(*row))
