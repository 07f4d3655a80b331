"""The audit record for admins: search it page by page (`/audit`) or download the result (`/audit.csv`)."""

from flask import Blueprint, current_app, render_template, request, stream_with_context
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from training.audit.labels import action_label, detail_lines
from training.auth.access import roles_required
from training.client import client_ip
from training.clock import organisation_zone
from training.errors import DomainError
from training.reports import audit_log
from training.reports.audit_forms import AuditFilterForm

bp = Blueprint("audit", __name__)
admins_only = roles_required("admin")


@bp.context_processor
def _helpers():
    return {"action_label": action_label, "detail_lines": detail_lines}


def _filter() -> tuple[AuditFilterForm, audit_log.AuditFilter | None]:
    form = AuditFilterForm(formdata=MultiDict(request.args))
    if not form.validate():
        return form, None
    return form, audit_log.AuditFilter(
        q=(form.q.data or "").strip(),
        action=form.action.data or "",
        prefix=form.prefix.data or "",
        subject_type=form.subject_type.data or "",
        subject_id=(form.subject_id.data or "").strip(),
        address=form.address.data or "",
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


@bp.route("/audit")
@admins_only
def index():
    form, criteria = _filter()
    if criteria is None:
        return render_template("audit/index.html", form=form, page=None, args={}), 400
    page = audit_log.audit_page(criteria, request.args.get("page", 1, type=int))
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit/index.html", form=form, page=page, args=args, zone=organisation_zone())


@bp.route("/audit.csv")
@admins_only
def export_csv():
    form, criteria = _filter()
    if criteria is None:
        errors = "; ".join(f"{form[name].label.text}: {' '.join(messages)}" for name, messages in form.errors.items())
        raise DomainError(f"The filter is not valid. {errors}")
    export = audit_log.start_export(current_user, criteria, client_ip())
    response = current_app.response_class(
        stream_with_context(audit_log.csv_chunks(criteria, export.until_id)), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f"attachment; filename={export.file_name}"
    return response
