"""HR's check of what reminders went out: `/reminders`."""

from flask import Blueprint, render_template, request
from werkzeug.datastructures import MultiDict

from training.auth.access import roles_required
from training.reminders import history
from training.reminders.forms import DEFAULT_DAYS, ReminderFilterForm

bp = Blueprint("reminders", __name__)


@bp.route("/reminders")
@roles_required("hr", "admin")
def index():
    form = ReminderFilterForm(formdata=MultiDict(request.args) if request.args else None)
    if request.args and not form.validate():
        return render_template("reminders/index.html", form=form, page=None, filter_args={}), 400
    criteria = history.ReminderFilter(
        days=form.days.data or DEFAULT_DAYS, kind=form.kind.data or "", q=(form.q.data or "").strip()
    )
    since = history.reminders_since(criteria)
    page = history.reminders_page(criteria, since, page=request.args.get("page", 1, type=int))
    filter_args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("reminders/index.html", form=form, page=page, since=since, filter_args=filter_args)
