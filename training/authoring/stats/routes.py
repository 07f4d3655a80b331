"""Item statistics pages: a course index, a course's overview and one question's figures."""

from flask import Blueprint, render_template, request
from werkzeug.datastructures import MultiDict

from training.authoring.lookup import course_for_authoring, question_with_course
from training.authoring.questions.forms import STATUS_LABELS
from training.authoring.roles import AUTHOR_ROLES, statistics_viewers_only
from training.authoring.stats import item_stats, services
from training.authoring.stats.forms import StatsFilterForm
from training.errors import NotFound
from training.urls import is_number

bp = Blueprint("authoring_stats", __name__, url_prefix="/authoring")


@bp.context_processor
def _figures():
    return {
        "min_flag_answers": item_stats.MIN_ANSWERS_FOR_FLAGS,
        "min_group_answers": item_stats.MIN_GROUP_ANSWERS,
        "author_roles": AUTHOR_ROLES,
        "question_status_labels": STATUS_LABELS,
    }


@bp.route("/statistics")
@statistics_viewers_only
def index():
    return render_template("authoring/stats_index.html", courses=services.statistics_courses())


@bp.route("/courses/<slug>/statistics")
@statistics_viewers_only
def course(slug):
    course = course_for_authoring(slug)
    form = StatsFilterForm(formdata=MultiDict(request.args))
    form.department.choices = [("", "All departments"), *services.departments()]
    sort = request.args.get("sort", "question")
    descending = request.args.get("order") == "desc"
    if not form.validate():
        return render_template("authoring/stats_course.html", course=course, form=form, overview=None, args={}), 400
    criteria = services.StatsFilter(form.department.data, form.job_title.data or "")
    overview = services.course_overview(course, criteria, sort, descending)
    args = {k: v for k, v in request.args.items() if k in ("department", "job_title") and v}
    return render_template(
        "authoring/stats_course.html",
        course=course,
        form=form,
        overview=overview,
        args=args,
        sort=sort if sort in item_stats.SORT_COLUMNS else "question",
        descending=descending,
    )


@bp.route("/questions/<int:question_id>/statistics")
@statistics_viewers_only
def question(question_id):
    item, course = question_with_course(question_id)
    number = request.args.get("version") or None
    if number is not None and not (is_number(number) and len(number) <= 9):
        raise NotFound(f"This question has no version {number[:20]}.")
    figures = services.question_statistics(item, int(number) if number else None)
    return render_template("authoring/stats_question.html", course=course, question=item, figures=figures)
