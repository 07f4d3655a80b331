"""`flask jobs ...`: the worker that runs background jobs, and a look at the queue."""

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.jobs.results import purge_expired
from training.jobs.runner import run_job, unfinished_job_ids

jobs_cli = AppGroup("jobs", help="Run and inspect background jobs (heavy exports).")


def _stop_event() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@jobs_cli.command("work")
@click.option("--threads", default=1, show_default=True, help="Jobs run at once by this worker.")
@click.option("--once", is_flag=True, help="Without a broker: run the unfinished jobs, then stop.")
@click.option("--resend", is_flag=True, help="With a broker: first send every unfinished job again.")
def work_command(threads: int, once: bool, resend: bool) -> None:
    """Run jobs until stopped; SIGTERM lets the running jobs finish. A job whose worker was killed keeps its
    checkpoint: Redis hands its message to another worker, which continues it. `--resend` is for a queue that
    was lost (Redis emptied) while no worker runs: two workers must not run one job."""
    queue = current_app.extensions["jobs"]
    if queue.in_memory:
        _poll_the_job_table(once)
        return
    if resend:
        for job_id in unfinished_job_ids():
            queue.actor.send(job_id)
    worker = queue.worker(threads)
    worker.start()
    click.echo(f"working on the Redis queue with {threads} thread(s)")
    _stop_event().wait()
    worker.stop()


def _poll_the_job_table(once: bool) -> None:
    """No broker: the job table is the queue. At start the jobs left running by a stopped process are
    continued, then the queued ones are run as they come, every two seconds."""
    stop = _stop_event()
    statuses: tuple[str, ...] = ("queued", "running")
    while not stop.is_set():
        for job_id in unfinished_job_ids(statuses):
            try:
                run_job(job_id)
            except Exception as error:  # the error is kept on the job, which is tried again or failed
                click.echo(f"job {job_id}: {error}", err=True)
        if once:
            return
        statuses = ("queued",)
        stop.wait(2)


@jobs_cli.command("list")
def list_command() -> None:
    """How many jobs are in each state."""
    counts = db.session.execute(select(Job.status, func.count()).group_by(Job.status).order_by(Job.status))
    for status, count in counts:
        click.echo(f"{status}: {count}")


@jobs_cli.command("purge")
def purge_command() -> None:
    """Delete the files of exports whose links have expired (run it daily, like the reminders)."""
    click.echo(f"Deleted {purge_expired(utcnow())} expired export file(s).")
