"""`flask users`: create accounts, set passwords, activate, deactivate and sign people out."""

import sys

import click
from flask.cli import AppGroup

from training.auth import sessions, users
from training.auth.models import ROLES
from training.errors import domain_errors_as_click

users_cli = AppGroup("users", help="Create and manage user accounts.")


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
        user = users.create_user(email, name, password, role=role, department=department, job_title=job_title)
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
        users.set_password(email, _read_password())
    click.echo(f"Password changed for {email}; their open sessions were ended.")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email):
    """Stop an account signing in and end its open sessions; its records are kept."""
    with domain_errors_as_click():
        users.set_active(email, False)
    click.echo(f"Deactivated {email}; their open sessions were ended.")


@users_cli.command("sign-out")
@click.argument("email", required=False)
@click.option("--everyone", is_flag=True, help="Sign out every account instead of one.")
def users_sign_out(email, everyone):
    """End the open sessions of one account (EMAIL) or of everybody (--everyone); they sign in again."""
    if bool(email) == everyone:
        raise click.UsageError("Give either an EMAIL or --everyone.")
    with domain_errors_as_click():
        ended = sessions.end_everyones_sessions() if everyone else users.sign_out_everywhere(email)
    click.echo(f"Ended {ended} open session{'' if ended == 1 else 's'}.")


@users_cli.command("activate")
@click.argument("email")
def users_activate(email):
    """Let a deactivated account sign in again."""
    with domain_errors_as_click():
        users.set_active(email, True)
    click.echo(f"Activated {email}.")
