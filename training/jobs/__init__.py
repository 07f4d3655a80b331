"""Background jobs: the job table, the queue (Dramatiq) that carries job ids to workers, and the runner."""
