"""Where jobs keep their files: the finished result, and a work folder of parts that a retry continues from."""

import shutil
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from training.extensions import db
from training.jobs.models import Job


def results_dir() -> Path:
    return Path(current_app.config["JOBS_RESULT_DIR"])


def result_path(job: Job, name: str | None = None) -> Path:
    """The job's result file: `name` (a file name the handler chose), kept under the job's id."""
    return results_dir() / f"{job.id}-{name or job.result_name}"


def work_dir(job: Job) -> Path:
    """An empty folder at the job's first try; what a failed try left in it at the next."""
    folder = results_dir() / "work" / str(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_work(job: Job) -> None:
    shutil.rmtree(results_dir() / "work" / str(job.id), ignore_errors=True)


def purge_expired(now: datetime) -> int:
    """Delete the files of finished jobs whose link has expired, and the work folders of failed jobs; returns
    how many files were deleted. The job rows stay: they are the record of what was asked and made."""
    deleted = 0
    finished = select(Job).where(Job.finished_at.is_not(None), or_(Job.expires_at <= now, Job.status == "failed"))
    for job in db.session.execute(finished).scalars():
        remove_work(job)
        if job.result_name and result_path(job).is_file():
            result_path(job).unlink()
            deleted += 1
    return deleted
