"""The quiz pages: start or resume an attempt, answer it, see the graded result (the `quizzes` blueprint)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import inspect

from training import question_types
from training.content import catalog
from training.courses import services as courses
from training.quizzes import attempts
from training.quizzes.allowances import gate_message

bp = Blueprint("quizzes", __name__)


@bp.route("/courses/<slug>/quiz", methods=["POST"])
@login_required
def start(slug: str):
    attempt = courses.start_quiz(current_user.id, courses.published_course(slug))
    # The id from the identity map: after the commit, `attempt.id` would read the whole attempt again.
    return redirect(url_for("quizzes.attempt", attempt_id=inspect(attempt).identity[0]))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = attempts.attempt_for_learner(current_user.id, attempt_id)
    if attempt.submitted_at is None:
        return _render_quiz(attempt)
    return _render_result(attempt)


@bp.route("/attempts/<int:attempt_id>", methods=["POST"])
@login_required
def submit(attempt_id: int):
    answers = attempts.parse_answer_form(request.form.to_dict(flat=False))
    try:
        courses.submit_quiz(current_user.id, attempt_id, answers)
    except attempts.IncompleteAnswers as exc:
        attempt = attempts.attempt_for_learner(current_user.id, attempt_id)
        return _render_quiz(attempt, answers=exc.answers, missing=exc.missing, message=exc.message), 422
    except attempts.AttemptAlreadySubmitted as exc:
        return render_template("quizzes/already_submitted.html", attempt_id=exc.attempt_id, message=exc.message), 409
    flash("Your answers were submitted and graded.", "success")
    # attempt_id, not the returned attempt's id: after the commit that would read the whole attempt again.
    return redirect(url_for("quizzes.attempt", attempt_id=attempt_id))


def _render_result(attempt):
    course = catalog.course(attempt.course_id)
    items = attempts.review(attempt)
    outcome = courses.quiz_outcome(current_user.id, attempt)
    return render_template(
        "quizzes/result.html",
        attempt=attempt,
        course=course,
        items=items,
        outcome=outcome,
        gate_message=gate_message(outcome.gate) if outcome.gate else "",
        missed_modules=courses.modules_behind(course, [i.version for i in items if not i.correct]),
        module_of=lambda version: catalog.module_of_question(course.id, version),
    )


def _render_quiz(attempt, answers=None, missing=frozenset(), message=None):
    return render_template(
        "quizzes/take.html",
        attempt=attempt,
        course=catalog.course(attempt.course_id),
        questions=attempts.review(attempt),
        question_types=question_types.QUESTION_TYPES,
        answers=answers or {},
        missing=missing,
        message=message,
    )
