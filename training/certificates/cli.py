"""`flask certificates ...`: bulk export and upkeep of the certificate store."""

import os
import tempfile
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from training.auth.models import Department
from training.certificates import files, issuing, listing
from training.certificates.export import build_zip
from training.content.models import Course
from training.errors import domain_errors_as_click
from training.extensions import db
from training.jobs.runner import Untracked

certificates_cli = AppGroup("certificates", help="Export certificates and keep their stored PDFs complete.")


def _lookup(model, column, value: str | None, what: str) -> int | None:
    if value is None:
        return None
    found = db.session.execute(select(model.id).where(column == value)).scalar()
    if found is None:
        raise click.BadParameter(f"there is no {what} {value!r}")
    return found


@certificates_cli.command("export")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--department", help="Department name.")
@click.option("--course", help="Course slug.")
@click.option("--from", "issued_from", type=click.DateTime(["%Y-%m-%d"]), help="Issued on or after (YYYY-MM-DD).")
@click.option("--to", "issued_to", type=click.DateTime(["%Y-%m-%d"]), help="Issued on or before (YYYY-MM-DD).")
def export_command(output: Path, department, course, issued_from: datetime | None, issued_to: datetime | None):
    """Write a ZIP of the filtered certificates' PDFs with a CSV manifest of serials and SHA-256s."""
    if issued_from and issued_to and issued_to < issued_from:
        raise click.BadParameter("--to is before --from")
    criteria = listing.CertificateFilter(
        department_id=_lookup(Department, Department.name, department, "department"),
        course_id=_lookup(Course, Course.slug, course, "course"),
        issued_from=issued_from.date() if issued_from else None,
        issued_to=issued_to.date() if issued_to else None,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-", dir=output.parent) as folder, domain_errors_as_click():
        count = build_zip(criteria, Path(folder), Untracked())
        os.replace(Path(folder) / "zip", output)
    listing.export_event(None, criteria, count, channel="cli")
    db.session.commit()
    click.echo(f"Wrote {count} certificate(s) to {output} ({output.stat().st_size:,} bytes).")


@certificates_cli.command("render-missing")
@click.option("--here", is_flag=True, help="Check and render in this process now (a restore check; no workers).")
def render_missing_command(here: bool):
    """Ask for the job that renders every certificate whose stored PDF is missing or is not the recorded file."""
    if here:
        with domain_errors_as_click():
            checked, rendered = files.render_missing(Untracked())
        click.echo(f"Checked {checked} certificate(s); rendered {rendered}.")
        return
    job = files.request_render_missing()
    click.echo(
        f"Job {job.id} renders the missing certificate files ({job.status}); the job workers run it "
        "(`flask jobs work`; `flask jobs list` shows where it stands)."
    )


@certificates_cli.command("issue-missing")
def issue_missing_command():
    """Issue certificates for completions that have none (recorded before certificates existed)."""
    with domain_errors_as_click():
        issued = issuing.issue_missing()
        for certificate in issued:
            files.write_certificate_file(certificate)
    click.echo(f"Issued {len(issued)} certificate(s).")
