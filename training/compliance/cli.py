"""`flask compliance reconcile [--fix]`: check the overview's counts against the obligations they summarise, and
the people list's counts and search words against the people; `flask compliance fold`: fold the counts of past days
(daily, like the reminders)."""

import sys

import click
from flask.cli import AppGroup

from training.clock import today
from training.compliance.counts import TABLES, fold_past_days, reconcile
from training.extensions import db

compliance_cli = AppGroup(
    "compliance",
    help="Compliance records: check the overview's and people list's counts, fold the overview's past days.",
)


@compliance_cli.command("reconcile")
@click.option("--fix", is_flag=True, help="Store the recomputed counts where they drifted (recorded in the audit log).")
def reconcile_command(fix: bool):
    """Recompute the overview's counts from the obligations, and the people list's from the people, and list
    every row that differs.

    Exit status 1 when a row drifted, unless --fix stored the recomputed counts. Obligation writes wait
    while it runs, so the two are compared at one moment.
    """
    drift = reconcile(today(), fix=fix)
    for row in drift:
        key = ", ".join(str(part) for part in row.key)
        click.echo(f"{row.table} ({key}): stored {row.stored}, recomputed {row.recomputed}")
    if not drift:
        tables = ", ".join((*(check.table for check in TABLES), "person_word"))
        click.echo(f"No drift: {tables} agree with the obligations and people.")
        return
    tables = sorted({row.table for row in drift})
    if fix:
        click.echo(f"Fixed {len(drift)} rows in {', '.join(tables)}.")
        return
    click.echo(f"Drift: {len(drift)} rows in {', '.join(tables)}. Run with --fix to store the recomputed counts.")
    sys.exit(1)


@compliance_cli.command("fold")
def fold_command():
    """Fold the overview's counts of the days before today into one row per bucket (run it daily).

    The figures do not change: the dashboard and the people list ask about today and later, for which the past
    days are one sum. Without it the rows of past days, and the time to add them up, grow every day.
    """
    folded = fold_past_days(today())
    db.session.commit()
    click.echo(f"Folded {folded} rows of past days." if folded else "Nothing to fold: no rows of past days.")
