"""The compliance matrix as an Excel workbook, made by a background job.

An XLSX file cannot be streamed (`matrix.write_xlsx` says why), so a large one kept a request busy for its whole
writing: 13 s at 10,000 staff, over a minute at 50,000, near gunicorn's timeout. The request asks for the job and
answers at once; the worker writes the workbook a chunk of people at a time, with its progress in rows. A retry
writes the workbook again from the start: a partial ZIP archive cannot be continued, and at disk speed it takes
seconds. The CSV stays a streamed download: its first bytes leave at once and its memory is flat.
"""

import os
from dataclasses import asdict
from datetime import date

from training.auth.models import User
from training.compliance.people import ComplianceFilter, scoped_filter
from training.extensions import db
from training.jobs.models import Job
from training.jobs.results import remove_work, result_path, work_dir
from training.jobs.runner import Progress, handler, request_job
from training.reports import matrix

JOB_KIND = "compliance-xlsx"


def request_matrix_xlsx(viewer: User, criteria: ComplianceFilter, on: date, ip_address: str = "") -> Job:
    """The job making this viewer's workbook of `criteria` (already scoped to what they may see) as of `on`."""
    filter_ = asdict(criteria)
    params = {
        "filter": filter_,
        "department_id": criteria.department_id,  # the job page checks the viewer's scope against it
        "on": on.isoformat(),
        "ip_address": ip_address,
    }
    key = f"{JOB_KIND}:{viewer.id}:{on.isoformat()}:" + ",".join(f"{k}={v}" for k, v in sorted(filter_.items()))
    return request_job(JOB_KIND, key, params, viewer.id)


@handler(JOB_KIND)
def make_matrix_xlsx(job: Job, progress: Progress) -> str:
    """The requester's scope is applied again: a manager moved since gets their new department's people only."""
    viewer = db.session.get(User, job.requested_by_id)
    criteria = scoped_filter(viewer, ComplianceFilter(**job.params["filter"]))
    on = date.fromisoformat(job.params["on"])
    progress.start(matrix.count_rows(criteria, on))
    part = work_dir(job) / "workbook.xlsx"
    with part.open("wb") as target:
        rows = matrix.write_xlsx(criteria, on, target, lambda written: progress.advance(written, {}))
        target.flush()
        os.fsync(target.fileno())
    name = matrix.file_name(on, "xlsx")
    os.replace(part, result_path(job, name))
    matrix.export_event(viewer.id, criteria, "xlsx", rows, job.params["ip_address"])
    remove_work(job)
    return name
