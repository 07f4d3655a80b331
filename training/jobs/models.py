"""The job table: one row per background job, the truth about its state, progress and result."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from training.db import utcnow
from training.extensions import db

STATUSES = ("queued", "running", "done", "failed")
ACTIVE = ("queued", "running")


class Job(db.Model):
    """A background job someone asked for. `key` names what it makes: while one job with a key is unfinished
    (queued or running: no `finished_at` yet), asking again returns that job (a double click makes one job).
    `checkpoint` is the job's own note of how far it got, so a retry continues there."""

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("done_count >= 0 AND total_count >= 0", name="counts_not_negative"),
        Index(
            "uq_job_active_key",
            "key",
            unique=True,
            sqlite_where=text("finished_at IS NULL"),
            postgresql_where=text("finished_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    done_count: Mapped[int] = mapped_column(default=0)
    total_count: Mapped[int] = mapped_column(default=0)
    checkpoint: Mapped[dict] = mapped_column(JSON, default=dict)
    tries: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    result_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE
