"""Course settings, publishing and modules in the browser (authors and admins only)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from training.authoring.courses import services
from training.authoring.courses.forms import CourseSettingsForm, ModuleForm, NewCourseForm
from training.authoring.lookup import course_for_authoring
from training.authoring.questions.bank import published_question_count
from training.authoring.roles import authors_only
from training.client import client_ip
from training.errors import Conflict, DomainError

bp = Blueprint("authoring_courses", __name__, url_prefix="/authoring")


def _settings_page(course, form, status=200):
    published = published_question_count(course.id) if course else 0
    problems = services.publish_problems(course) if course else []
    page = render_template(
        "authoring/course_settings.html",
        course=course,
        form=form,
        published=published,
        problems=problems,
        meaning_fields=services.MEANING_FIELDS,
    )
    return page, status


@bp.route("/courses/new", methods=["GET", "POST"])
@authors_only
def new_course():
    form = NewCourseForm()
    if request.method == "GET":
        return _settings_page(None, form)
    if not form.validate():
        return _settings_page(None, form, 422)
    try:
        course = services.create_course(
            form.slug.data, services.CourseSettings(**form.values()), current_user.id, client_ip()
        )
    except Conflict as error:
        form.slug.errors.append(error.message)
        return _settings_page(None, form, 409)
    flash(f"Course {course.title} created, not yet published. Add its modules and questions next.", "success")
    return redirect(url_for("authoring_courses.modules", slug=course.slug))


@bp.route("/courses/<slug>/settings", methods=["GET", "POST"])
@authors_only
def settings(slug):
    course = course_for_authoring(slug)
    if request.method == "GET":
        form = CourseSettingsForm(
            data=services.settings_of(course).__dict__ | {"token": services.settings_token(course)}
        )
        return _settings_page(course, form)
    form = CourseSettingsForm()
    if not form.validate():
        return _settings_page(course, form, 422)
    try:
        changes = services.update_settings(
            course,
            services.CourseSettings(**form.values()),
            current_user.id,
            token=form.token.data or "",
            ip=client_ip(),
        )
    except Conflict as error:
        field = form.questions_per_attempt if error.code == "conflict" else None
        (field.errors if field else form.form_errors).append(error.message)
        form.token.data = services.settings_token(course)  # saving again means "mine wins"
        return _settings_page(course, form, 409)
    if not changes:
        flash("Nothing had changed.", "info")
    elif any(name in changes for name in services.MEANING_FIELDS):
        flash(f"Saved: {course.title} is now version {course.version}.", "success")
    else:
        flash("Saved. The course version is unchanged.", "success")
    return redirect(url_for("authoring_courses.settings", slug=slug))


@bp.route("/courses/<slug>/publish", methods=["POST"])
@authors_only
def publish(slug):
    course = course_for_authoring(slug)
    action = request.form.get("action")
    if action not in ("publish", "unpublish"):
        raise DomainError("Unknown action.", tampered="course publish action")
    services.set_published(course, action == "publish", current_user.id, client_ip())
    flash(f"{course.title} is {'published' if course.published else 'not published'}.", "success")
    return redirect(url_for("authoring_courses.settings", slug=slug))


@bp.route("/courses/<slug>/modules")
@authors_only
def modules(slug):
    course = course_for_authoring(slug)
    return render_template("authoring/modules.html", course=course, modules=services.modules_of(course))


def _module_page(course, form, module=None, preview=None, status=200):
    return render_template(
        "authoring/module_edit.html", course=course, form=form, module=module, preview=preview
    ), status


def _text(form) -> services.ModuleText:
    return services.ModuleText(form.title.data, form.summary.data or "", form.body.data)


@bp.route("/courses/<slug>/modules/new", methods=["GET", "POST"])
@authors_only
def new_module(slug):
    course = course_for_authoring(slug)
    form = ModuleForm()
    if request.method == "GET":
        return _module_page(course, form)
    if not form.validate():
        return _module_page(course, form, status=422)
    if "preview" in request.form:
        return _module_page(course, form, preview=form.body.data)
    module = services.create_module(course, _text(form), current_user.id, client_ip())
    flash(f"Module {module.title} added: {course.title} is now version {course.version}.", "success")
    return redirect(url_for("authoring_courses.modules", slug=slug))


@bp.route("/modules/<int:module_id>/edit", methods=["GET", "POST"])
@authors_only
def edit_module(module_id):
    module = services.module_for_authoring(module_id)
    course = module.course
    if request.method == "GET":
        data = {"title": module.title, "summary": module.summary, "body": module.body}
        return _module_page(course, ModuleForm(data=data | {"token": services.module_token(module)}), module)
    form = ModuleForm()
    if not form.validate():
        return _module_page(course, form, module, status=422)
    if "preview" in request.form:
        return _module_page(course, form, module, preview=form.body.data)
    try:
        changes = services.update_module(
            module, _text(form), current_user.id, token=form.token.data or "", ip=client_ip()
        )
    except Conflict as error:
        form.form_errors.append(error.message)
        form.token.data = services.module_token(module)
        return _module_page(course, form, module, status=409)
    if not changes:
        flash("Nothing had changed.", "info")
    else:
        bumped = f" {course.title} is now version {course.version}." if "body" in changes else ""
        flash(f"Module {module.title} saved.{bumped}", "success")
    return redirect(url_for("authoring_courses.modules", slug=course.slug))


@bp.route("/modules/<int:module_id>/move", methods=["POST"])
@authors_only
def move_module(module_id):
    module = services.module_for_authoring(module_id)
    services.move_module(module, request.form.get("direction", ""), current_user.id, client_ip())
    return redirect(url_for("authoring_courses.modules", slug=module.course.slug) + f"#module-{module.id}")


@bp.route("/modules/<int:module_id>/status", methods=["POST"])
@authors_only
def module_status(module_id):
    module = services.module_for_authoring(module_id)
    action = request.form.get("action")
    if action not in ("retire", "restore"):
        raise DomainError("Unknown action.", tampered="module status action")
    if services.set_module_retired(module, action == "retire", current_user.id, client_ip()):
        flash(
            f"Module {module.title} {action}d: {module.course.title} is now version {module.course.version}.", "success"
        )
    return redirect(url_for("authoring_courses.modules", slug=module.course.slug))
