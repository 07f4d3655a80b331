"""`flask reminders send` and `flask reminders list`."""

import sys
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from training.clock import today
from training.compliance.status import due_soon_days
from training.errors import domain_errors_as_click
from training.mail import MailSettings, transport_for
from training.reminders.history import recent_reminders
from training.reminders.run import interval_days
from training.reminders.sending import send_reminders

reminders_cli = AppGroup("reminders", help="Email staff and managers about training due soon, overdue or expired.")

SEND_HELP = """Email each active person whose required training is due soon, overdue
or expired, and each active manager a digest of their department.

\b
Schedule: at most one reminder of each kind per person per day, and none
within REMINDER_INTERVAL_DAYS (default 7) of the last one, unless an item has
become overdue or expired since that reminder (items only due soon wait for the
next regular one). Every message is recorded as soon as the server takes it,
so running the command again the same day, even after a run that stopped
midway, sends nothing twice; a message sent again after a lost acknowledgement
keeps its Message-ID.

\b
With MAIL_SERVER unset the messages are printed here instead (and recorded).
A message the server refuses is reported and not recorded, so the next run
tries again, and the others go on; after three connection failures in a row the
run stops. The summary counts what was sent and what failed; the exit status is
1 if anything failed.
"""


@reminders_cli.command("send", help=SEND_HELP)
@click.option("--dry-run", is_flag=True, help="Show who would get what; send and record nothing.")
@click.option(
    "--today",
    "on",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Evaluate as of this day (YYYY-MM-DD) instead of today in the organisation's timezone.",
)
def send_command(dry_run: bool, on: datetime | None):
    with domain_errors_as_click():
        settings = MailSettings.from_config(current_app.config)
        interval = interval_days()
    with transport_for(settings, click.echo) as transport:
        run = send_reminders(
            transport,
            on=on.date() if on else today(),
            interval=interval,
            window=due_soon_days(),
            sender=settings.sender,
            dry_run=dry_run,
            say=click.echo,
            warn=lambda line: click.echo(line, err=True),
        )
    click.echo(run.summary())
    if not run.ok:
        sys.exit(1)


@reminders_cli.command("list")
@click.option(
    "--days", type=click.IntRange(1, 3660), default=30, show_default=True, help="How many days back, today included."
)
def list_command(days: int):
    """Print the reminders sent recently: when, to whom, which kind and the items they listed."""
    since = today() - timedelta(days=days - 1)
    count = 0
    for reminder, name, email in recent_reminders(since):
        count += 1
        click.echo(f"{reminder.sent_on}  {reminder.kind:<8} {reminder.transport:<8} {name} <{email}>")
        click.echo(f"    {reminder.subject}")
        for item in reminder.items or []:
            click.echo(f"    - {_item_line(item)}")
    period = "today" if days == 1 else f"in the last {days} days"
    click.echo(f"{count} reminder(s) {period}." if count else f"No reminders {period}.")


def _item_line(item: dict) -> str:
    who = f"{item['name']}: " if item.get("name") else ""
    return f"{item.get('label', '')}: {who}{item.get('title', '')} ({item.get('detail', '')})"
