"""Asking for a job (once per key) and running it: claim, call the area's handler, record progress and result."""

from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from training import events
from training.db import utcnow
from training.extensions import db
from training.jobs.models import ACTIVE, Job


class Progress:
    """What a handler reports while it works; each call commits, so the page shows it and a retry resumes."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def checkpoint(self) -> dict:
        return dict(self.job.checkpoint or {})

    def start(self, total: int) -> None:
        self.job.total_count = total
        db.session.commit()

    def advance(self, done: int, checkpoint: dict) -> None:
        """`done` items of the total are finished, and `checkpoint` says where a retry continues."""
        self.job.done_count = done
        self.job.checkpoint = checkpoint
        db.session.commit()


class Untracked:
    """The `Progress` of work run outside a job (a CLI command that writes the file itself): nothing is kept."""

    @property
    def checkpoint(self) -> dict:
        return {}

    def start(self, total: int) -> None:
        pass

    def advance(self, done: int, checkpoint: dict) -> None:
        pass


# A handler does the job's work and returns the name of the file it made. It may add rows to the session (its
# audit event) without committing: they are committed with the job's "done".
Handler = Callable[[Job, Progress], str | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind` (areas register theirs when imported)."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def active_job(key: str) -> Job | None:
    return db.session.scalar(select(Job).where(Job.key == key, Job.status.in_(ACTIVE)))


def request_job(kind: str, key: str, params: dict, requested_by_id: int | None) -> Job:
    """The queued or running job for `key`, or a new one sent to the queue. Two requests at once make one job:
    the second insert fails on the unique index of active keys and returns the first."""
    if kind not in HANDLERS:
        raise LookupError(f"no handler for jobs of kind {kind!r}")
    job = active_job(key)
    if job is not None:
        return job
    job = Job(kind=kind, key=key, params=params, requested_by_id=requested_by_id)
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = active_job(key)
        if existing is None:
            raise
        return existing
    current_app.extensions["jobs"].send(job.id)
    return job


def run_job(job_id: int) -> None:
    """Run one job to the end. A job that is done or failed is left alone (a message delivered twice does
    nothing); a running one is continued from its checkpoint. An error puts the job back in the queue
    until its tries are used up, then marks it failed; the error is raised again for the queue's retry."""
    job = db.session.get(Job, job_id)
    if job is None or job.status not in ACTIVE:
        return
    job.status = "running"
    job.tries += 1
    job.started_at = job.started_at or utcnow()
    db.session.commit()
    try:
        result_name = HANDLERS[job.kind](job, Progress(job))
    except Exception as error:
        db.session.rollback()
        job = db.session.get(Job, job_id)
        out_of_tries = job.tries >= current_app.config["JOBS_MAX_TRIES"]
        job.status = "failed" if out_of_tries else "queued"
        job.error = f"{type(error).__name__}: {error}"[:500]
        if out_of_tries:
            job.finished_at = utcnow()
        db.session.commit()
        raise
    job.status = "done"
    job.error = None
    job.done_count = job.total_count
    job.result_name = result_name
    job.finished_at = utcnow()
    job.expires_at = job.finished_at + timedelta(seconds=current_app.config["JOBS_RESULT_SECONDS"])
    db.session.commit()
    requester = [job.requested_by_id] if job.requested_by_id else []
    events.publish(events.job_finished, "jobs", user_ids=requester, job_id=job.id)


def unfinished_job_ids(statuses: tuple[str, ...] = ACTIVE) -> list[int]:
    """The jobs in `statuses` (queued or running), oldest first."""
    return list(db.session.scalars(select(Job.id).where(Job.status.in_(statuses)).order_by(Job.id)))
