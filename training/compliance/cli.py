"""`flask compliance reconcile [--fix]`: check the overview's counts against the obligations they summarise, and
the people list's counts and search words against the people."""

import sys

import click
from flask.cli import AppGroup

from training.compliance.counts import TABLES, reconcile

compliance_cli = AppGroup("compliance", help="Compliance records: check the overview's and people list's counts.")


@compliance_cli.command("reconcile")
@click.option("--fix", is_flag=True, help="Store the recomputed counts where they drifted (recorded in the audit log).")
def reconcile_command(fix: bool):
    """Recompute the overview's counts from the obligations, and the people list's from the people, and list
    every row that differs.

    Exit status 1 when a row drifted, unless --fix stored the recomputed counts. Obligation writes wait
    while it runs, so the two are compared at one moment.
    """
    drift = reconcile(fix=fix)
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
