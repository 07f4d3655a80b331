"""The blueprint `authoring`: its home, question banks, new versions, publish and retire, history, preview, activity."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from training import question_types
from training.auth.access import roles_required
from training.authoring.activity import ACTION_LABELS, activity_page
from training.authoring.guide import authoring_guide
from training.authoring.lookup import (
    course_for_authoring,
    question_for_authoring,
    question_version,
    question_versions,
    question_with_course,
)
from training.authoring.questions import diff
from training.authoring.questions.bank import (
    BankFilter,
    authoring_courses,
    bank_page,
    course_tags,
    published_question_count,
)
from training.authoring.questions.forms import (
    STATUS_LABELS,
    BankFilterForm,
    PreviewAnswerForm,
    QuestionForm,
    StatusForm,
    question_labels,
)
from training.authoring.questions.preview import try_answer
from training.authoring.questions.saving import change_status, save_question, suggest_key
from training.authoring.roles import authors_only
from training.client import client_ip
from training.content.questions import spec_of
from training.errors import Conflict, DomainError

bp = Blueprint("authoring", __name__, url_prefix="/authoring")
bp.context_processor(question_labels)


@bp.route("")
@authors_only
def index():
    return render_template("authoring/index.html", courses=authoring_courses())


@bp.route("/guide")
@authors_only
def guide():
    return render_template("authoring/guide.html", guide=authoring_guide())


@bp.route("/courses/<slug>/questions")
@authors_only
def bank(slug):
    course = course_for_authoring(slug)
    form = BankFilterForm(formdata=MultiDict(request.args))
    form.tag.choices = [("", "All tags")] + [(t, t) for t in course_tags(course)]
    published = published_question_count(course.id)
    if not form.validate():
        return render_template(
            "authoring/bank.html", course=course, form=form, page=None, args={}, published=published
        ), 400
    criteria = BankFilter(form.q.data or "", form.type.data or "", form.tag.data or "", form.status.data or "")
    page = bank_page(course, criteria, request.args.get("page", 1, type=int))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("authoring/bank.html", course=course, form=form, page=page, args=args, published=published)


def handle_option_rows(form: QuestionForm) -> bool:
    """Add or remove an option row without saving (works without JavaScript). True if it did."""
    action = request.form.get("row_action", "")
    if action == "add":
        if len(form.options.entries) >= 8:
            form.option_problems.append("A question has at most 8 options.")
        else:
            form.options.append_entry()
        return True
    if action.startswith("remove-"):
        name = f"options-{action.removeprefix('remove-')}"
        if len(form.options.entries) <= 2:
            form.option_problems.append("A question needs at least two options.")
        else:
            form.options.entries = [e for e in form.options.entries if e.name != name]
        return True
    return False


@bp.route("/courses/<slug>/questions/new", methods=["GET", "POST"])
@authors_only
def new_question(slug):
    course = course_for_authoring(slug)
    form = QuestionForm(new=True)
    if request.method == "GET" or handle_option_rows(form):
        return render_template("authoring/edit.html", course=course, form=form, question=None)
    if not form.validate():
        return render_template("authoring/edit.html", course=course, form=form, question=None), 422
    key = form.key.data or suggest_key(course, form.prompt.data)
    status = "published" if request.form.get("publish") else "draft"
    try:
        result = save_question(
            course, form.to_spec(key), current_user.id, status=status, note=form.change_note.data or "", ip=client_ip()
        )
    except Conflict as error:
        form.key.errors.append(error.message)
        return render_template("authoring/edit.html", course=course, form=form, question=None), 409
    flash(f"Question {key} saved as {STATUS_LABELS[result.question.status].lower()}.", "success")
    return redirect(url_for("authoring.question", question_id=result.question.id))


@bp.route("/questions/<int:question_id>")
@authors_only
def question(question_id):
    item, course = question_with_course(question_id)
    versions = question_versions(item)
    return render_template(
        "authoring/question.html", course=course, question=item, versions=versions, status_form=StatusForm()
    )


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@authors_only
def edit_question(question_id):
    item, course = question_with_course(question_id)
    current = item.current_version
    if request.method == "GET":
        form = QuestionForm(data=QuestionForm.data_of(spec_of(current, item.key), current.version))
        return render_template("authoring/edit.html", course=course, form=form, question=item)
    form = QuestionForm()
    if handle_option_rows(form):
        return render_template("authoring/edit.html", course=course, form=form, question=item)
    if not form.validate():
        return render_template("authoring/edit.html", course=course, form=form, question=item), 422
    try:
        result = save_question(
            course,
            form.to_spec(item.key),
            current_user.id,
            question=item,
            base_version=form.base(),
            status="published" if request.form.get("publish") else None,
            note=form.change_note.data or "",
            ip=client_ip(),
        )
    except Conflict as error:
        form.form_errors.append(error.message)  # about the whole question, not its options
        form.base_version.data = str(item.current_version.version)  # saving again means "mine wins"
        return render_template("authoring/edit.html", course=course, form=form, question=item), 409
    if result.new_version:
        flash(f"Saved version {result.version.version} of {item.key}.", "success")
    else:
        flash("Nothing had changed, so no new version was made.", "info")
    return redirect(url_for("authoring.question", question_id=item.id))


@bp.route("/questions/<int:question_id>/status", methods=["POST"])
@authors_only
def question_status(question_id):
    item = question_for_authoring(question_id)
    form = StatusForm()
    if not form.validate_on_submit():  # CSRF is checked before the view; only a missing action gets here
        raise DomainError("Unknown action.", tampered="question status action")
    change_status(item, form.action.data, current_user.id, client_ip())
    flash(f"{item.key} is now {STATUS_LABELS[item.status].lower()}.", "success")
    return redirect(url_for("authoring.question", question_id=item.id))


@bp.route("/questions/<int:question_id>/history")
@authors_only
def history(question_id):
    item, course = question_with_course(question_id)
    latest = item.current_version.version
    new_number = request.args.get("to", latest, type=int)
    old_number = request.args.get("from", max(new_number - 1, 1), type=int)
    old = question_version(item, old_number)
    new = question_version(item, new_number)
    versions = question_versions(item)
    return render_template(
        "authoring/history.html",
        course=course,
        question=item,
        versions=versions,
        old=old,
        new=new,
        changes=diff.diff_versions(spec_of(old, item.key), spec_of(new, item.key))
        if old.version != new.version
        else None,
    )


@bp.route("/questions/<int:question_id>/preview", methods=["GET", "POST"])
@authors_only
def preview(question_id):
    item, course = question_with_course(question_id)
    number = request.args.get("version", item.current_version.version, type=int)
    version = question_version(item, number)
    form = PreviewAnswerForm()
    outcome = None
    if request.method == "POST":
        outcome = try_answer(version, request.form.getlist("choice"))
    return render_template(
        "authoring/preview.html",
        course=course,
        question=item,
        version=version,
        question_type=question_types.get(version.type),
        form=form,
        outcome=outcome,
    ), (422 if outcome is not None and outcome.problem else 200)


@bp.route("/activity")
@roles_required("admin")
def activity():
    page = activity_page(request.args.get("page", 1, type=int))
    return render_template("authoring/activity.html", page=page, action_labels=ACTION_LABELS)
