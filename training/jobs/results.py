"""Where jobs keep their files: the finished result, and a work folder of parts that a retry continues from."""

import shutil
from pathlib import Path

from flask import current_app

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
