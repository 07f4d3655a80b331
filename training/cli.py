"""Command-line interface: `flask content`, `flask users`, `flask demo`."""

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from training.auth import services as auth_services
from training.auth.models import ROLES
from training.content.service import load_configured_content, sync_configured_content
from training.content.sync import ContentInvalid
from training.errors import DomainError

content_cli = AppGroup("content", help="Validate and load course content from modules/ and quizzes/.")
users_cli = AppGroup("users", help="Create and manage user accounts.")


@contextmanager
def domain_errors_as_click():
    """Show a DomainError as a one-line CLI error (exit status 1) instead of a traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


def _print_errors(errors) -> None:
    for error in errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"{len(errors)} problem(s) found.", err=True)


@content_cli.command("check")
def content_check():
    """Validate every content file without writing anything."""
    bundle = load_configured_content()
    if not bundle.ok:
        _print_errors(bundle.errors)
        sys.exit(1)
    modules = sum(len(c.modules) for c in bundle.courses)
    questions = sum(len(c.questions) for c in bundle.courses)
    click.echo(f"OK: {len(bundle.courses)} courses, {modules} modules, {questions} questions.")


@content_cli.command("sync")
@click.option(
    "--prefer-files",
    is_flag=True,
    help="Let the files win over changes made in the browser since the last sync (each is reported).",
)
def content_sync(prefer_files):
    """Validate every content file and load it into the database (all or nothing).

    What an author changed in the browser since the last sync is kept and reported, never
    overwritten, unless --prefer-files is given.
    """
    try:
        report = sync_configured_content(prefer_files=prefer_files)
    except ContentInvalid as exc:
        _print_errors(exc.errors)
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)
    for line in report.lines():
        click.echo(line)


@content_cli.command("export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write DIR/modules and DIR/quizzes (default: the configured content folders, normally the project's).",
)
@click.option("--course", "course_slug", default=None, help="Export only this course (by slug).")
def content_export(out_dir, course_slug):
    """Write the database's content back to the file format (published questions only)."""
    from training.content.export import export_content

    if out_dir is None:
        modules_dir = Path(current_app.config["CONTENT_MODULES_DIR"])
        quizzes_dir = Path(current_app.config["CONTENT_QUIZZES_DIR"])
    else:
        modules_dir, quizzes_dir = out_dir / "modules", out_dir / "quizzes"
    with domain_errors_as_click():
        report = export_content(modules_dir, quizzes_dir, course_slug)
    for path in report.written:
        click.echo(f"wrote {path}")
    for path in report.removed:
        click.echo(f"removed {path}")
    click.echo(
        f"Exported {len(report.courses)} course(s) with {report.questions} published question(s). "
        "Draft and retired questions stay in the database only."
    )


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name as shown on certificates.")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--department", default=None, help="Department name (created if new).")
@click.option("--job-title", default="", help="Job title.")
def users_create(email, name, role, department, job_title):
    """Create an account; the password is read from standard input."""
    password = _read_password()
    with domain_errors_as_click():
        user = auth_services.create_user(email, name, password, role=role, department=department, job_title=job_title)
    click.echo(f"Created {user.role} {user.email}.")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("set-password")
@click.argument("email")
def users_set_password(email):
    """Set a new password (read from standard input) and end the account's open sessions."""
    with domain_errors_as_click():
        auth_services.set_password(email, _read_password())
    click.echo(f"Password changed for {email}; their open sessions were ended.")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email):
    """Stop an account signing in and end its open sessions; its records are kept."""
    with domain_errors_as_click():
        auth_services.set_active(email, False)
    click.echo(f"Deactivated {email}; their open sessions were ended.")


@users_cli.command("sign-out")
@click.argument("email", required=False)
@click.option("--everyone", is_flag=True, help="Sign out every account instead of one.")
def users_sign_out(email, everyone):
    """End the open sessions of one account (EMAIL) or of everybody (--everyone); they sign in again."""
    if bool(email) == everyone:
        raise click.UsageError("Give either an EMAIL or --everyone.")
    with domain_errors_as_click():
        ended = auth_services.end_everyones_sessions() if everyone else auth_services.sign_out_everywhere(email)
    click.echo(f"Ended {ended} open session{'' if ended == 1 else 's'}.")


@users_cli.command("activate")
@click.argument("email")
def users_activate(email):
    """Let a deactivated account sign in again."""
    with domain_errors_as_click():
        auth_services.set_active(email, True)
    click.echo(f"Activated {email}.")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) when users already exist.")
@click.option("--seed", type=int, default=None, help="Random seed, for a reproducible organisation.")
@click.option(
    "--staff",
    type=click.IntRange(10, 200_000),
    default=None,
    help="Generate a large organisation of this many staff in bulk, with history (e.g. 10000).",
)
@click.option("--years", type=click.IntRange(1, 6), default=None, help="Years of history for --staff (default 2).")
@click.option(
    "--yes-in-production",
    is_flag=True,
    help="Create the demo even though TRAINING_ENV is production (a public demonstration site).",
)
@with_appcontext
def demo_command(if_empty, seed, staff, years, yes_in_production):
    """Create a demo organisation in an empty database and print its accounts.

    Without --staff: 40 people whose progress is made through the learner services, and HR's rules
    for every course (what `make run` loads). With --staff N: N people in a hospital's departments,
    written in bulk with --years of quiz attempts, completions and certificates (PDFs are rendered
    on first download), for trying the dashboard and the benchmarks at scale. Either way it refuses
    when any user exists; with --if-empty it then does nothing.

    The demo's accounts are the only ones the app ever makes by itself (ASVS 6.3.2), so with
    TRAINING_ENV=production it refuses unless given --yes-in-production.
    """
    from training.demo import DemoRefused, create_demo
    from training.demo_bulk import create_bulk_demo

    if years is not None and staff is None:
        raise click.UsageError("--years only applies with --staff.")
    _refuse_demo_in_production(yes_in_production)
    try:
        if staff is None:
            accounts = create_demo(seed=seed)
        else:
            result = create_bulk_demo(staff, seed=seed, years=years or 2)
            accounts = result.accounts
    except DemoRefused as exc:
        if if_empty:
            click.echo("Demo not created: the database already has users.")
            return
        raise click.ClickException(exc.message) from exc
    if staff is not None:
        click.echo(f"Generated in {result.seconds:.1f} s: " + ", ".join(f"{n:,} {k}" for k, n in result.counts.items()))
    click.echo("Demo organisation created. Sign in at http://127.0.0.1:5000/login with:")
    for account in accounts:
        click.echo(f"  {account.role:<8} {account.email:<28} password: {account.password}")


def _refuse_demo_in_production(forced: bool) -> None:
    if current_app.config["TRAINING_ENV"] != "production":
        return
    if not forced:
        raise click.ClickException(
            "TRAINING_ENV is production: the demo would add accounts for every role (admin included) "
            "and print their passwords. Run it with TRAINING_ENV=development, or add --yes-in-production "
            "if this really is a demonstration site."
        )
    click.echo(
        "warning: creating demo accounts with TRAINING_ENV=production (--yes-in-production). "
        "Anyone with the printed passwords can sign in; never do this on a site with real staff.",
        err=True,
    )
