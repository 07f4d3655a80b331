"""The queue that carries job ids to workers: Dramatiq on Redis, or in memory with a worker thread in the app.

With JOBS_BROKER_URL (a redis:// URL) the web processes send job ids to Redis and `flask jobs work` runs them.
Without it (`make run` on SQLite) the broker is Dramatiq's in-memory one and the app starts one worker thread
of its own when the first job is sent; JOBS_IN_PROCESS=False keeps it from starting (tests drain the queue).
"""

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app

QUEUE_NAME = "exports"
ACTOR_NAME = "run_job"


class JobQueue:
    def __init__(self, app: Flask, factory: Callable[[dict], Flask] | None = None):
        self.app = app
        self.factory = factory
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


def init_app(app: Flask, factory: Callable[[dict], Flask] | None = None) -> None:
    """`factory` makes an app from settings: the processes of `process_pool` make theirs with it."""
    app.config.setdefault("JOBS_TIME_LIMIT_SECONDS", 2 * 60 * 60)
    app.extensions["jobs"] = JobQueue(app, factory)


def process_pool(processes: int) -> ProcessPoolExecutor:
    """Processes for the CPU-bound part of a job (rendering PDFs), each with an app of its own made by the app's
    factory from the same settings. Spawned, not forked: a worker has threads (Dramatiq's), and a fork copies
    the locks they hold."""
    app = current_app._get_current_object()
    return ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_process,
        initargs=(app.extensions["jobs"].factory, dict(app.config)),
    )


def _start_process(factory: Callable[[dict], Flask], config: dict) -> None:
    factory(config).app_context().push()
