"""`flask staff import FILE [--apply]`, the CSV import for scripts run by HR systems, and
`flask staff sync FILE`, the nightly HR feed: the same file as the whole staff list."""

import sys
from pathlib import Path

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from training.errors import domain_errors_as_click
from training.mail import MailError
from training.staff import csv_import, feed, sync
from training.staff.import_plan import ImportPlan

staff_cli = AppGroup("staff", help="Staff records: import and update people from a CSV file, or sync the HR feed.")


@staff_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_changes", is_flag=True, help="Import the changes (all or nothing). Default: dry run.")
@click.option("--create-departments", is_flag=True, help="Create departments named in the file that do not exist.")
def import_command(file: Path, apply_changes: bool, create_departments: bool):
    """Check FILE and show what would change; with --apply, import it. Exit status 1 on any error.

    Run by the server's operator, so it may change any account (the web page limits HR to staff and
    managers). Audit events have no actor and no address.
    """
    data = file.read_bytes()
    plan = csv_import.plan_import(None, data, create_departments=create_departments)
    _print_plan(file.name, plan)
    if not plan.ok:
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)
    if not apply_changes:
        click.echo("Dry run: nothing was changed. Run again with --apply to import these changes.")
        return
    with domain_errors_as_click():
        try:
            plan = csv_import.apply_import(None, data, create_departments=create_departments, filename=file.name)
        except csv_import.ImportRefused as refused:
            _print_errors(refused.preview.plan)
            click.echo("The records changed since the check. Nothing was changed.", err=True)
            sys.exit(1)
    click.echo(f"Imported: {plan.summary()}.")


def _print_plan(name: str, plan: ImportPlan) -> None:
    click.echo(f"File: {name} ({plan.encoding})")
    for row in plan.rows:
        if row.action == "create":
            click.echo(f"line {row.line}: new person {row.record.name} <{row.record.email}>")
        elif row.action == "update":
            changes = "; ".join(f'{c.field} "{c.old}" -> "{c.new}"' for c in row.changes)
            click.echo(f"line {row.line}: update {row.record.email}: {changes}")
    _print_errors(plan)
    click.echo(f"Summary: {plan.summary()}.")


def _print_errors(plan: ImportPlan) -> None:
    for error in plan.errors:
        click.echo(f"error: {error}", err=True)


@staff_cli.command("sync")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what the run would change, and change nothing.")
@click.option(
    "--max-deactivate",
    "max_percent",
    type=click.IntRange(0, 100),
    default=None,
    metavar="PERCENT",
    help="Refuse the run if it would deactivate more than this share of the people the feed manages "
    "(default: STAFF_SYNC_MAX_DEACTIVATE_PERCENT, 10).",
)
@click.option("--force", is_flag=True, help="Apply a run beyond --max-deactivate (never one that deactivates all).")
@click.option("--create-departments", is_flag=True, help="Create departments named in the file that do not exist.")
@click.option("--mail-summary", "mail_to", metavar="ADDRESS", help="Also email the summary to this address.")
def sync_command(file: Path, dry_run: bool, max_percent: int | None, force: bool, create_departments: bool, mail_to):
    """Make the staff records match FILE, the full staff list exported by HR, all or nothing.

    As `flask staff import --apply`, plus: people with an employee id who are not in the file are
    deactivated (their sessions end, their history stays), and deactivated people listed in it are
    reactivated. Exit status 0 when applied (or, with --dry-run, when it would be), 1 when refused
    (errors in the file, the safety limit, another sync running) or when the summary mail failed.
    """
    if max_percent is None:
        max_percent = current_app.config["STAFF_SYNC_MAX_DEACTIVATE_PERCENT"]
    address = _mail_address(mail_to)
    with domain_errors_as_click():
        if address:
            sync.mail_settings()
        run = sync.sync_staff(
            file.read_bytes(),
            filename=file.name,
            max_percent=max_percent,
            force=force,
            create_departments=create_departments,
            dry_run=dry_run,
        )
    if dry_run:
        _print_plan(file.name, run.plan)
        _print_feed_changes(run)
    else:
        _print_errors(run.plan)
    summary = _sync_summary(run, dry_run)
    click.echo(summary)
    mailed = _mail_summary(address, run, summary, dry_run) if address else True
    if run.refused or not mailed:
        sys.exit(1)


def _mail_address(value: str | None) -> str:
    if not value:
        return ""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(f"{value!r} is not an email address ({error})", param_hint="--mail-summary") from None


def _print_feed_changes(run: sync.SyncRun) -> None:
    for row in run.plan.rows:
        if feed.row_kind(row) == "reactivated":
            click.echo(f"line {row.line}: reactivate {row.record.email}")
    for leaver in run.plan.leavers:
        click.echo(f"deactivate {leaver.name} <{leaver.email}> (employee_id {leaver.employee_id}): not in the file")


def _outcome(run: sync.SyncRun, dry_run: bool) -> str:
    if run.refused:
        return "REFUSED, nothing was changed" if not dry_run else "dry run, would be REFUSED"
    return "applied" if run.applied else "dry run, nothing was changed"


def _sync_summary(run: sync.SyncRun, dry_run: bool) -> str:
    """The summary printed and mailed: outcome, why refused, and the counts (no one's name)."""
    lines = [f"Staff sync of {run.filename} (SHA-256 {run.sha256}): {_outcome(run, dry_run)}."]
    if run.refused:
        lines.append(f"Refused: {run.refused}.")
    lines += [f"  {name}: {count}" for name, count in run.counts.as_dict().items()]
    return "\n".join(lines)


def _mail_summary(address: str, run: sync.SyncRun, summary: str, dry_run: bool) -> bool:
    errors = "".join(f"\nerror: {error}" for error in run.plan.errors[:100])
    subject = f"Staff sync of {run.filename}: {_outcome(run, dry_run)}"
    try:
        sync.mail_sync_summary(address, subject, summary + "\n" + errors, click.echo)
    except MailError as error:
        click.echo(f"error: the summary was not mailed to {address}: {error.message}", err=True)
        return False
    return True
