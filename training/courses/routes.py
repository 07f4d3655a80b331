from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from training.courses import services
from training.courses.transcript import requested_pages, transcript_page
from training.quizzes.allowances import gate_message
from training.quizzes.attempts import attempt_history

bp = Blueprint("courses", __name__)
RECENT_ATTEMPTS = 3  # on the course page; the attempts page lists them all


@bp.route("/transcript")
@login_required
def transcript():
    record = transcript_page(current_user.id, *requested_pages(request.args))
    return render_template("courses/transcript.html", record=record)


@bp.route("/courses/<slug>")
@login_required
def course(slug: str):
    course = services.published_course(slug)
    progress = services.course_progress(current_user.id, course, recent=RECENT_ATTEMPTS)
    gate = progress.gate()
    return render_template(
        "courses/course.html",
        gate=gate,
        gate_message=gate_message(gate),
        course=course,
        progress=progress,
        done_ids=services.completed_module_ids(course, progress),
        open_attempt=progress.open_attempt,
        attempts=progress.recent,
    )


@bp.route("/courses/<slug>/modules/<module_slug>")
@login_required
def module(slug: str, module_slug: str):
    course = services.published_course(slug)
    module = services.published_module(course, module_slug)
    progress = services.course_progress(current_user.id, course)
    index = course.modules.index(module)
    return render_template(
        "courses/module.html",
        course=course,
        module=module,
        progress=progress,
        done=module.id in services.completed_module_ids(course, progress),
        number=index + 1,
        previous=course.modules[index - 1] if index > 0 else None,
        next=course.modules[index + 1] if index + 1 < len(course.modules) else None,
    )


@bp.route("/courses/<slug>/modules/<module_slug>/complete", methods=["POST"])
@login_required
def complete_module(slug: str, module_slug: str):
    course = services.published_course(slug)
    module = services.published_module(course, module_slug)
    progress = services.mark_module_complete(current_user.id, module)
    if progress.is_completed:
        flash(f"Course completed: {course.title}.", "success")
        return redirect(url_for("courses.course", slug=slug))
    flash(f"Module marked complete: {module.title}.", "success")
    index = course.modules.index(module)
    if index + 1 < len(course.modules):
        return redirect(url_for("courses.module", slug=slug, module_slug=course.modules[index + 1].slug))
    return redirect(url_for("courses.course", slug=slug))


@bp.route("/courses/<slug>/attempts")
@login_required
def attempts(slug: str):
    course = services.published_course(slug)
    return render_template("courses/attempts.html", course=course, attempts=attempt_history(current_user.id, course.id))
