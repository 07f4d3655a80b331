"""Item statistics pages: a course index, a course's overview and one question's figures."""

from flask import Blueprint, render_template, request
from werkzeug.datastructures import MultiDict

from training.auth.access import roles_required
from training.authoring import item_stats, services, stats_services
from training.authoring.forms import STATUS_LABELS
from training.authoring.stats_forms import StatsFilterForm
from training.errors import NotFound

bp = Blueprint("authoring_stats", __name__, url_prefix="/authoring")
viewers_only = roles_required(*services.STATS_ROLES)


@bp.context_processor
def _figures():
    return {
        "min_flag_answers": item_stats.MIN_ANSWERS_FOR_FLAGS,
        "min_group_answers": item_stats.MIN_GROUP_ANSWERS,
        "author_roles": services.AUTHOR_ROLES,
        "question_status_labels": STATUS_LABELS,
    }


@bp.route("/statistics")
@viewers_only
def index():
    return render_template("authoring/stats_index.html", courses=stats_services.statistics_courses())


@bp.route("/courses/<slug>/statistics")
@viewers_only
def course(slug):
    course = services.course_for_authoring(slug)
    form = StatsFilterForm(formdata=MultiDict(request.args))
    form.department.choices = [("", "All departments"), *stats_services.departments()]
    sort = request.args.get("sort", "question")
    descending = request.args.get("order") == "desc"
    if not form.validate():
        return render_template("authoring/stats_course.html", course=course, form=form, overview=None, args={}), 400
    criteria = stats_services.StatsFilter(form.department.data, form.job_title.data or "")
    overview = stats_services.course_overview(course, criteria, sort, descending)
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
@viewers_only
def question(question_id):
    item = services.question_for_authoring(question_id)
    course = services.course_for_authoring_by_id(item.course_id)
    number = request.args.get("version") or None
    if number is not None and not (number.isascii() and number.isdigit() and len(number) <= 9):
        raise NotFound(f"This question has no version {number[:20]}.")
    figures = stats_services.question_statistics(item, int(number) if number else None)
    return render_template("authoring/stats_question.html", course=course, question=item, figures=figures)
