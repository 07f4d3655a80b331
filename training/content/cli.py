"""`flask content`: validate the content files, load them into the database, export the database as files."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from training.content.service import load_configured_content, sync_configured_content
from training.content.sync import ContentInvalid
from training.errors import domain_errors_as_click

content_cli = AppGroup("content", help="Validate and load course content from modules/ and quizzes/.")


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
