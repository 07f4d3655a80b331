"""`flask demo`: a demo organisation for trying the product. The other command groups live with their areas
(`content/cli.py`, `auth/cli.py`, `certificates/cli.py`, `reminders/cli.py`, `staff/cli.py`, `audit/cli.py`)."""

import click
from flask import current_app
from flask.cli import with_appcontext


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
    by a job on first download), for trying the dashboard and the benchmarks at scale. Either way it refuses
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
