"""Import a question bank (preview, then apply) and download it as YAML or GIFT."""

from io import BytesIO

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from training.authoring.lookup import course_for_authoring
from training.authoring.questions.forms import question_labels
from training.authoring.roles import authors_only
from training.authoring.transfer import services
from training.authoring.transfer.forms import ApplyImportForm, ImportForm
from training.client import client_ip
from training.error_pages import error_response
from training.errors import DomainError

bp = Blueprint("authoring_transfer", __name__, url_prefix="/authoring")
bp.context_processor(question_labels)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    limit = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    message = f"The upload is larger than {limit:g} MB, the most this site accepts. Nothing was imported."
    return error_response(413, "too_large", message, "That file is too large")


def _page(course, form, preview=None, status=200):
    apply_form = None
    if preview is not None and preview.token:
        apply_form = ApplyImportForm(formdata=None, data={"token": preview.token, "sha256": preview.plan.sha256})
    if preview is not None and not preview.plan.ok and status == 200:
        status = 422
    return render_template(
        "authoring/transfer.html", course=course, form=form, preview=preview, apply_form=apply_form
    ), status


@bp.route("/courses/<slug>/import", methods=["GET", "POST"])
@authors_only
def import_bank(slug):
    course = course_for_authoring(slug)
    form = ImportForm()
    if request.method == "GET":
        return _page(course, form)
    if not form.validate_on_submit():
        return _page(course, form, status=422)
    upload = form.file.data
    try:
        preview = services.stage_import(
            course, current_user, upload.read(), upload.filename or "", form.format.data, form.status.data
        )
    except services.TooLarge:
        raise  # the 413 page: nothing was read or kept
    except DomainError as error:
        form.file.errors.append(error.message)
        return _page(course, form, status=error.status)
    return _page(course, ImportForm(formdata=None, data={"status": form.status.data}), preview)


@bp.route("/courses/<slug>/import/apply", methods=["POST"])
@authors_only
def apply_import(slug):
    course = course_for_authoring(slug)
    form = ApplyImportForm()
    if not form.validate_on_submit():
        raise DomainError("The import form was incomplete. Upload the file again.", tampered="staged import form")
    ip = client_ip()
    try:
        plan = services.apply_staged_import(course, current_user, form.token.data, form.sha256.data, ip)
    except services.ImportRefused as refused:
        return _page(course, ImportForm(formdata=None), services.Preview(refused.plan, None), status=409)
    flash(
        f"Imported {plan.filename}: {plan.count('create')} created, {plan.count('update')} updated, "
        f"{plan.count('unchanged')} unchanged.",
        "success",
    )
    return redirect(url_for("authoring.bank", slug=course.slug))


@bp.route("/courses/<slug>/export.yaml", defaults={"kind": "yaml"})
@bp.route("/courses/<slug>/export.gift", defaults={"kind": "gift"})
@authors_only
def export_bank(slug, kind):
    download = services.export_bank(course_for_authoring(slug), kind, current_user.id, client_ip())
    return send_file(
        BytesIO(download.data),
        mimetype=download.mimetype,
        as_attachment=True,
        download_name=download.filename,
    )
