"""Composing the reminder emails: a person's own items by status, a manager's digest of their department."""

from dataclasses import dataclass

from flask import current_app, render_template

from training.compliance import rules
from training.reminders.run import MANAGER, STAFF, ReminderRun
from training.reminders.selection import ATTENTION, Person, ReminderItem
from training.urls import public_url

# People listed per status in a digest; the rest are counted and one link away.
DIGEST_LIST_LIMIT = 50


@dataclass(frozen=True)
class Outgoing:
    """A message decided on: who, which kind, what it says and what the record lists."""

    person: Person
    kind: str
    subject: str
    text: str
    html: str
    items: list[dict]


@dataclass(frozen=True)
class DigestGroup:
    """The people in a department with items of one status, and how many there are in all."""

    status: str
    entries: list[tuple[Person, list[ReminderItem]]]
    people: int
    items: int

    @property
    def label(self) -> str:
        return rules.LABELS[self.status]

    @property
    def more(self) -> int:
        return self.people - len(self.entries)


def staff_message(person: Person, items: list[ReminderItem], run: ReminderRun) -> Outgoing:
    groups = [(rules.LABELS[s], [i for i in items if i.status == s]) for s in ATTENTION]
    groups = [(label, group) for label, group in groups if group]
    counts = ", ".join(f"{len(group)} {label.lower()}" for label, group in groups)
    context = {"person": person, "groups": groups, "count": len(items), "home_url": public_url("/")}
    return _compose(person, STAFF, f"Training reminder: {counts}", context, [item.as_json() for item in items], run)


def digest_message(manager: Person, department: str, team: dict, run: ReminderRun) -> Outgoing:
    by_name = sorted(team.items(), key=lambda entry: (entry[0].name.lower(), entry[0].id))
    groups = []
    for status in ATTENTION:
        entries = [(p, [i for i in items if i.status == status]) for p, items in by_name]
        entries = [(p, items) for p, items in entries if items]
        if entries:
            total_items = sum(len(items) for _, items in entries)
            groups.append(DigestGroup(status, entries[:DIGEST_LIST_LIMIT], len(entries), total_items))
    people = len(team)
    context = {
        "manager": manager,
        "department": department,
        "groups": groups,
        "people": people,
        "list_url": public_url("/compliance/people?status=non_compliant"),
    }
    needs = "person needs" if people == 1 else "people need"
    subject = f"Team training digest for {department}: {people} {needs} attention"
    items = [{"user_id": p.id, "name": p.name} | item.as_json() for p, person_items in by_name for item in person_items]
    return _compose(manager, MANAGER, subject, context, items, run)


def _compose(
    recipient: Person, kind: str, subject: str, context: dict, items: list[dict], run: ReminderRun
) -> Outgoing:
    """The message in both parts, from the templates named after its kind (`reminders/staff.txt`, `.html`)."""
    context = context | {"organisation": current_app.config["ORGANISATION_NAME"], "interval": run.interval}
    return Outgoing(
        person=recipient,
        kind=kind,
        subject=subject,
        text=render_template(f"reminders/{kind}.txt", **context),
        html=render_template(f"reminders/{kind}.html", **context),
        items=items,
    )
