"""The queue that carries job ids to workers: Dramatiq on Redis, or in memory with a worker thread in the app.

With JOBS_BROKER_URL (a redis:// URL) the web processes send job ids to Redis and `flask jobs work` runs them.
Without it (`make run` on SQLite) the broker is Dramatiq's in-memory one and the app starts one worker thread
of its own when the first job is sent; JOBS_IN_PROCESS=False keeps it from starting (tests drain the queue).
"""

import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask

QUEUE_NAME = "exports"
ACTOR_NAME = "run_job"


class JobQueue:
    def __init__(self, app: Flask):
        self.app = app
        url = app.config.get("JOBS_BROKER_URL")
        self.broker: dramatiq.Broker = RedisBroker(url=url, namespace="training-jobs") if url else StubBroker()
        self.in_memory = not url
        self.in_process = bool(app.config.get("JOBS_IN_PROCESS", self.in_memory))
        self.actor = dramatiq.Actor(
            self._perform,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            priority=0,
            options={
                "max_retries": app.config["JOBS_MAX_TRIES"] - 1,
                "time_limit": app.config["JOBS_TIME_LIMIT_SECONDS"] * 1000,
                "min_backoff": 1000,
                "max_backoff": 60_000,
            },
        )
        self._worker: dramatiq.Worker | None = None
        self._lock = threading.Lock()

    def _perform(self, job_id: int) -> None:
        from training.jobs.runner import run_job

        with self.app.app_context():
            run_job(job_id)

    def send(self, job_id: int) -> None:
        self.actor.send(job_id)
        if self.in_process:
            self._start_thread()

    def worker(self, threads: int = 1) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, queues={QUEUE_NAME}, worker_threads=threads, worker_timeout=500)

    def _start_thread(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = self.worker()
                self._worker.start()

    def stop_thread(self) -> None:
        """Stop the app's own worker thread, letting its running job finish."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def drain(self) -> None:
        """Run every message sent so far, and the retries they cause (in-memory broker only; for tests)."""
        worker = self.worker()
        worker.start()
        try:
            self.broker.join(QUEUE_NAME, fail_fast=False)
        finally:
            worker.stop()


def init_app(app: Flask) -> None:
    app.config.setdefault("JOBS_TIME_LIMIT_SECONDS", 2 * 60 * 60)
    app.extensions["jobs"] = JobQueue(app)
