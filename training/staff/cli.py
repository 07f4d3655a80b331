"""`flask staff import FILE [--apply]`: the CSV import for scripts run by HR systems."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from training.cli import domain_errors_as_click
from training.staff import services
from training.staff.importer import ImportPlan

staff_cli = AppGroup("staff", help="Staff records: import and update people from a CSV file.")


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
    plan = services.plan_import(None, data, create_departments=create_departments)
    _print_plan(file.name, plan)
    if not plan.ok:
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)
    if not apply_changes:
        click.echo("Dry run: nothing was changed. Run again with --apply to import these changes.")
        return
    with domain_errors_as_click():
        try:
            plan = services.apply_import(None, data, create_departments=create_departments, filename=file.name)
        except services.ImportRefused as refused:
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
