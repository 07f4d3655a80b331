"""Background jobs: one job per key, progress, resuming from a checkpoint after a failure, the worker command,
and the Redis queue."""

import time

import pytest
import redis
from sqlalchemy import func, select

from tests.conftest import redis_test_url
from training.extensions import db
from training.jobs.models import Job
from training.jobs.runner import handler, request_job, run_job

REDIS_URL = redis_test_url(5)  # 5 to 8: no other test's databases
FAILURES: dict[str, int] = {}


@handler("test-count")
def count_to(job: Job, progress) -> str:
    """Counts to params["to"] in steps of 10, failing once at params["fail_at"] after saving its checkpoint."""
    to = job.params["to"]
    progress.start(to)
    done = progress.checkpoint.get("done", 0)
    seen = [*job.checkpoint.get("starts", []), done]
    while done < to:
        done += 10
        progress.advance(done, {"done": done, "starts": seen})
        if done == job.params.get("fail_at") and not FAILURES.get(job.key):
            FAILURES[job.key] = 1
            raise RuntimeError("worker lost")
    return f"count-{to}.txt"


@handler("test-broken")
def always_fails(job: Job, progress) -> str:
    raise ValueError("cannot make this")


@pytest.fixture(autouse=True)
def _no_failures_yet():
    FAILURES.clear()


@pytest.fixture
def app_config():
    return {"JOBS_MAX_TRIES": 2}


def drain(app):
    app.extensions["jobs"].drain()


def test_asking_twice_makes_one_job_and_one_message(app):
    with app.app_context():
        first = request_job("test-count", "count:a", {"to": 30}, None)
        second = request_job("test-count", "count:a", {"to": 30}, None)
        assert first.id == second.id
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    assert app.extensions["jobs"].broker.queues["exports"].qsize() == 1


def test_a_job_runs_to_the_end_with_its_progress_and_an_expiring_result(app):
    with app.app_context():
        job_id = request_job("test-count", "count:b", {"to": 50}, None).id
    drain(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.status, job.done_count, job.total_count, job.tries) == ("done", 50, 50, 1)
        assert job.result_name == "count-50.txt"
        assert job.expires_at > job.finished_at
        # Done: asking again makes a new job, and a message delivered twice does nothing.
        run_job(job_id)
        assert db.session.get(Job, job_id).tries == 1
        assert request_job("test-count", "count:b", {"to": 50}, None).id != job_id


def test_a_retry_continues_from_the_checkpoint(app):
    with app.app_context():
        job_id = request_job("test-count", "count:c", {"to": 40, "fail_at": 20}, None).id
    drain(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.status, job.tries, job.done_count) == ("done", 2, 40)
        assert job.checkpoint["starts"] == [0, 20]


def test_a_job_that_keeps_failing_is_marked_failed(app):
    with app.app_context():
        job_id = request_job("test-broken", "broken", {}, None).id
    drain(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.status, job.tries) == ("failed", 2)
        assert job.error == "ValueError: cannot make this"
        assert job.finished_at is not None


def test_the_worker_command_runs_unfinished_jobs_without_a_broker(app, runner):
    with app.app_context():
        job_id = request_job("test-count", "count:d", {"to": 20}, None).id
    result = runner.invoke(args=["jobs", "work", "--once"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Job, job_id).status == "done"
    assert "done: 1" in runner.invoke(args=["jobs", "list"]).output


def wait_until_finished(app, job_id: int) -> Job:
    deadline = time.monotonic() + 30
    with app.app_context():
        while db.session.get(Job, job_id).finished_at is None and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.1)
        return db.session.get(Job, job_id)


class TestWorkerThreadInTheApp:
    @pytest.fixture
    def app_config(self):
        return {"JOBS_IN_PROCESS": True}

    def test_without_a_broker_the_app_runs_its_jobs_on_a_thread_of_its_own(self, app):
        with app.app_context():
            job_id = request_job("test-count", "count:f", {"to": 20}, None).id
        try:
            assert wait_until_finished(app, job_id).status == "done"
        finally:
            app.extensions["jobs"].stop_thread()


class TestRedisQueue:
    @pytest.fixture
    def app_config(self):
        redis.Redis.from_url(REDIS_URL).flushdb()
        return {"JOBS_BROKER_URL": REDIS_URL}

    def test_a_worker_reading_redis_runs_the_job(self, app):
        queue = app.extensions["jobs"]
        assert not queue.in_memory and not queue.in_process
        with app.app_context():
            job_id = request_job("test-count", "count:e", {"to": 30}, None).id
        worker = queue.worker()
        worker.start()
        try:
            assert wait_until_finished(app, job_id).status == "done"
        finally:
            worker.stop()
