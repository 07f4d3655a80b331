"""Exports of the compliance matrix, transcript PDFs and audit packets. Every download is audited."""

from flask import Blueprint, current_app, redirect, render_template, request, send_file, stream_with_context, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from training.auth.access import roles_required
from training.client import client_ip
from training.clock import today
from training.compliance.people import ComplianceFilter, person_for_viewer, scoped_filter
from training.errors import DomainError
from training.limits import heavy_download, heavy_download_post
from training.reports import exports, matrix, matrix_job, packet, packet_job, transcript_pdf
from training.reports.forms import ComplianceFilterForm, PacketForm
from training.reports.period import Period, last_twelve_months
from training.security_log import tampering

bp = Blueprint("reports", __name__)


def _export_filter() -> ComplianceFilter:
    """The people list's filter from the query string, narrowed to what the viewer may see."""
    form = ComplianceFilterForm(formdata=MultiDict(request.args))
    if not form.validate():
        errors = "; ".join(f"{form[name].label.text}: {' '.join(messages)}" for name, messages in form.errors.items())
        # The people list builds the export links from a filter it has checked: only a crafted link gets here.
        raise DomainError(f"The export filter is not valid. {errors}", tampered="export filter")
    criteria = ComplianceFilter(
        q=(form.q.data or "").strip(),
        department_id=form.department.data,
        job_title=(form.job_title.data or "").strip(),
        item=form.item.data or "",
        status=form.status.data or "",
    )
    scoped = scoped_filter(current_user, criteria)
    if criteria.department_id not in (None, scoped.department_id):
        # A manager's links name their own department only; the export is narrowed to it all the same.
        tampering("department filter", department=criteria.department_id)
    return scoped


@bp.route("/compliance/export.csv")
@roles_required(*packet.PACKET_ROLES)
@heavy_download
def export_csv():
    criteria, on = _export_filter(), today()
    matrix.record_export(current_user, criteria, "csv", matrix.count_rows(criteria, on), client_ip())
    response = current_app.response_class(stream_with_context(matrix.csv_chunks(criteria, on)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={matrix.file_name(on, 'csv')}"
    return response


@bp.route("/compliance/export.xlsx", methods=["POST"])
@roles_required(*packet.PACKET_ROLES)
@heavy_download
def export_xlsx():
    """Asks for the workbook (a background job: an XLSX file cannot be streamed) and shows the job's page."""
    job = matrix_job.request_matrix_xlsx(current_user, _export_filter(), today(), client_ip())
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


@bp.route("/compliance/people/<int:user_id>/transcript.pdf")
@login_required
@heavy_download
def transcript(user_id: int):
    person = person_for_viewer(current_user, user_id)
    data = transcript_pdf.transcript_pdf(person)
    name = f"transcript-{transcript_pdf.file_stem(person)}-{today().isoformat()}.pdf"
    transcript_pdf.record_download(current_user, person, client_ip())
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


def _packet_form() -> PacketForm:
    form = PacketForm()
    departments = packet.departments_for(current_user)
    form.department.choices = {"": "Choose a department"} | {str(d.id): d.name for d in departments}
    if not form.is_submitted():
        default = last_twelve_months(today())
        form.date_from.data, form.date_to.data = default.start, default.end
    return form


@bp.route("/compliance/packet", methods=["GET", "POST"])
@roles_required(*packet.PACKET_ROLES)
@heavy_download_post
def audit_packet():
    form = _packet_form()
    if not form.validate_on_submit():
        if form.scope.data == "department" and form.department.data not in (None, "", *form.department.choices):
            tampering("department filter", department=form.department.data[:20])
        return render_template("reports/packet.html", form=form), 422 if form.is_submitted() else 200
    by_person = form.scope.data == "person"
    wanted = packet.PacketRequest(
        person=form.person.data.strip() if by_person else "",
        department_id=None if by_person else int(form.department.data),
        period=Period(form.date_from.data, form.date_to.data),
    )
    try:
        job = packet_job.request_packet(current_user, wanted, client_ip())
    except packet.PacketRefused as refusal:
        target = form[refusal.field].errors if refusal.field else form.form_errors
        target.append(refusal.message)
        return render_template("reports/packet.html", form=form), refusal.status
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


@bp.route("/exports/<int:job_id>")
@login_required
def export_job(job_id: int):
    """The job page: "Preparing ... n of N" refreshing itself until the file is ready, then its link."""
    state = exports.export_state(exports.job_for_viewer(current_user, job_id))
    return render_template("reports/export_job.html", export=state)


@bp.route("/exports/<int:job_id>/download")
@login_required
def export_download(job_id: int):
    job = exports.job_for_viewer(current_user, job_id)
    path = exports.downloadable_file(job)
    if path is None:
        state = exports.export_state(job)
        if state.state == "expired":
            return render_template("reports/export_gone.html", export=state), 410
        return redirect(url_for("reports.export_job", job_id=job.id))
    return send_file(path, as_attachment=True, download_name=job.result_name, max_age=0)
