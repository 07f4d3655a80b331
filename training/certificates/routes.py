import io

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from training.auth.access import roles_required
from training.certificates import access, listing, revocation, verification
from training.certificates.export import request_certificate_zip
from training.certificates.forms import CertificateFilterForm, FileCheckForm, RevokeForm, SerialLookupForm
from training.certificates.serials import InvalidSerial, display_serial, parse_serial
from training.certificates.storage import sha256_hex
from training.client import client_ip
from training.errors import DomainError
from training.extensions import limiter
from training.limits import heavy_download

bp = Blueprint("certificates", __name__)
bp.add_app_template_filter(display_serial, "serial")

PDF_MAGIC = b"%PDF-"
PREPARING_REFRESH_SECONDS = 3


def verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


verify_rate = limiter.shared_limit(verify_limit, scope="verify")


def _public_headers(response):
    """Verification pages show a person's name: never cached, never indexed by search engines."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/certificates/<serial>.pdf")
@login_required
def download(serial: str):
    certificate, data = access.downloadable_pdf(current_user, serial)
    if data is None:
        return _preparing(certificate)
    if request.method == "HEAD":
        # The "being prepared" page asking whether the file is ready: no file is sent, so no download is recorded.
        return "", 200, {"Cache-Control": "no-store"}
    access.record_download(current_user, certificate, ip_address=client_ip())
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"certificate-{display_serial(certificate.serial)}.pdf",
        max_age=0,
    )


def _preparing(certificate):
    """202: the file is being rendered by a job; the page asks (HEAD) every few seconds and then downloads it."""
    page = render_template("certificates/preparing.html", certificate=certificate, seconds=PREPARING_REFRESH_SECONDS)
    return page, 202, {"Retry-After": str(PREPARING_REFRESH_SECONDS), "Cache-Control": "no-store"}


@bp.route("/certificates/<serial>")
@login_required
def detail(serial: str):
    certificate = access.certificate_for_viewer(current_user, serial)
    return render_template(
        "certificates/detail.html",
        certificate=certificate,
        verification=verification.verify(certificate.serial),
        revoke_form=RevokeForm() if current_user.role in access.VIEW_ANY_ROLES else None,
    )


@bp.route("/certificates/<serial>/revoke", methods=["POST"])
@roles_required(*access.VIEW_ANY_ROLES)
def revoke(serial: str):
    certificate = access.certificate_for_viewer(current_user, serial)
    form = RevokeForm()
    if not form.validate_on_submit():
        found = verification.verify(certificate.serial)
        page = render_template(
            "certificates/detail.html", certificate=certificate, verification=found, revoke_form=form
        )
        return page, 422
    revocation.revoke_certificate(current_user, serial, form.reason.data.strip(), ip_address=client_ip())
    flash(f"Certificate {display_serial(certificate.serial)} is revoked.", "success")
    return redirect(url_for("certificates.detail", serial=display_serial(certificate.serial)))


def _filter_form() -> tuple[CertificateFilterForm, listing.CertificateFilter | None]:
    form = CertificateFilterForm(formdata=MultiDict(request.args))
    form.department.choices = [("", "All departments")] + [
        (str(d.id), d.name) for d in listing.departments_for_filter()
    ]
    form.course.choices = [("", "All courses")] + [(str(c.id), c.title) for c in listing.courses_for_filter()]
    if not form.validate():
        return form, None
    return form, listing.CertificateFilter(
        department_id=int(form.department.data) if form.department.data else None,
        course_id=int(form.course.data) if form.course.data else None,
        issued_from=form.issued_from.data,
        issued_to=form.issued_to.data,
    )


@bp.route("/certificates")
@roles_required(*access.VIEW_ANY_ROLES)
def index():
    form, criteria = _filter_form()
    if criteria is None:
        return render_template("certificates/index.html", form=form, page=None, export_args={}), 400
    page = listing.find_certificates(criteria, page=request.args.get("page", 1, type=int))
    export_args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "certificates/index.html", form=form, page=page, export_args=export_args, status_of=verification.status_now
    )


@bp.route("/certificates/export", methods=["POST"])
@roles_required(*access.VIEW_ANY_ROLES)
@heavy_download
def export():
    """Asks for the ZIP (a background job) and shows its page; asking again while it runs finds the same job."""
    form, criteria = _filter_form()
    if criteria is None:
        errors = "; ".join(f"{form[name].label.text}: {' '.join(msgs)}" for name, msgs in form.errors.items())
        raise DomainError(f"The export filter is not valid. {errors}")
    job = request_certificate_zip(current_user, criteria, client_ip())
    return redirect(url_for("reports.export_job", job_id=job.id), code=303)


@bp.route("/verify")
def lookup():
    form = SerialLookupForm(formdata=MultiDict(request.args) if request.args else None)
    if request.args and form.validate():
        try:
            serial = parse_serial(form.serial.data)
        except InvalidSerial as error:
            form.serial.errors.append(str(error))
        else:
            return redirect(url_for("certificates.verify", serial=display_serial(serial)))
    status = 400 if form.errors else 200
    return _public_headers(current_app.make_response((render_template("certificates/lookup.html", form=form), status)))


@bp.route("/verify/<serial>", methods=["GET", "POST"])
@verify_rate
def verify(serial: str):
    found = verification.verify(serial)
    form = FileCheckForm()
    match = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and (digest := _submitted_digest(form)):
            match = verification.file_matches(serial, digest)
        else:
            status = 400
    page = render_template("certificates/verify.html", verification=found, form=form, match=match)
    return _public_headers(current_app.make_response((page, status)))


def _submitted_digest(form: FileCheckForm) -> str | None:
    """The SHA-256 of the uploaded PDF, or the one typed in; None (with a field error) if not a PDF."""
    if form.pdf.data:
        data = form.pdf.data.read()
        if not data.startswith(PDF_MAGIC):
            form.pdf.errors.append("That file is not a PDF. Choose the certificate PDF you were given.")
            return None
        return sha256_hex(data)
    return form.sha256.data.strip().lower()


@bp.route("/verify/<serial>.json")
@verify_rate
def verify_json(serial: str):
    try:
        body = verification.verify(serial).as_json()
    except DomainError as error:
        return _public_headers(jsonify(error={"code": error.code, "message": error.message})), error.status
    return _public_headers(jsonify(body))
