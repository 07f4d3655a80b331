from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from training.auth.access import roles_required
from training.client import client_ip
from training.errors import FieldRefused
from training.markdown import render_markdown
from training.policies import lookups, management, rules
from training.policies.forms import MATERIAL_HELP, LinkCourseForm, NewPolicyForm, PublishForm

bp = Blueprint("policies", __name__)
bp.add_app_template_filter(rules.reading_time, "reading_time")

HR_ROLES = ("hr", "admin")


# --- HR ------------------------------------------------------------------------------------------


@bp.route("/policies/manage/new", methods=["GET", "POST"])
@roles_required(*HR_ROLES)
def new():
    defaults = {"min_reading_seconds": management.default_reading_seconds()}
    form = NewPolicyForm(data=defaults) if request.method == "GET" else NewPolicyForm()
    if not form.validate_on_submit():
        return render_template("policies/new.html", form=form), 422 if request.method == "POST" else 200
    if form.preview.data:
        return render_template("policies/new.html", form=form, preview=_preview(form.body.data))
    try:
        policy = management.create_policy(
            current_user, form.title.data, form.slug.data or "", form.version_input(), ip_address=client_ip()
        )
    except FieldRefused as error:
        error.attach_to(form)
        return render_template("policies/new.html", form=form), error.status
    flash(f"{policy.title} is published as version 1.", "success")
    return redirect(url_for("policies.detail", slug=policy.slug))


@bp.route("/policies/manage/<slug>")
@roles_required(*HR_ROLES)
def detail(slug: str):
    detail = management.policy_detail(slug)
    link_form = LinkCourseForm()
    link_form.course.choices = [(c.id, c.title) for c in detail.linkable]
    return render_template("policies/detail.html", detail=detail, link_form=link_form)


@bp.route("/policies/manage/<slug>/versions/<int:number>")
@roles_required(*HR_ROLES)
def version(slug: str, number: int):
    policy = lookups.policy_by_slug(slug)
    return render_template("policies/version.html", policy=policy, version=lookups.policy_version(policy, number))


@bp.route("/policies/manage/<slug>/publish", methods=["GET", "POST"])
@roles_required(*HR_ROLES)
def publish(slug: str):
    policy = lookups.policy_by_slug(slug)
    current = lookups.current_version(policy.id)
    form = PublishForm(data=_publish_defaults(policy, current)) if request.method == "GET" else PublishForm()
    if not form.validate_on_submit():
        return _publish_page(policy, current, form), 422 if request.method == "POST" else 200
    if form.preview.data:
        return _publish_page(policy, current, form, preview=_preview(form.body.data))
    try:
        version = management.publish_version(
            current_user, slug, form.version_input(), based_on=form.based_on_version(), ip_address=client_ip()
        )
    except FieldRefused as error:
        error.attach_to(form)
        return _publish_page(policy, current, form), error.status
    kind = "a material change" if version.material_change else "a minor change"
    flash(f"Version {version.version} of {policy.title} is published as {kind}.", "success")
    return redirect(url_for("policies.detail", slug=slug))


def _publish_defaults(policy, current) -> dict:
    return {
        "based_on": str(current.version),
        "body": current.body,
        "min_reading_seconds": management.default_reading_seconds(),
        "statement": rules.default_statement(policy.title, current.version + 1),
    }


def _publish_page(policy, current, form, preview=None):
    return render_template(
        "policies/publish.html", policy=policy, current=current, form=form, preview=preview, material_help=MATERIAL_HELP
    )


def _preview(body: str):
    return render_markdown(rules.normalise_body(body))


@bp.route("/policies/manage/<slug>/courses", methods=["POST"])
@roles_required(*HR_ROLES)
def link_course(slug: str):
    detail = management.policy_detail(slug)
    form = LinkCourseForm()
    form.course.choices = [(c.id, c.title) for c in detail.linkable]
    if not form.validate_on_submit():
        page = render_template("policies/detail.html", detail=detail, link_form=form)
        return page, 422
    if management.link_course(current_user, slug, form.course.data, ip_address=client_ip()):
        flash("The course is linked: a material change to this policy now asks people to take it again.", "success")
    else:
        flash("That course was already linked to this policy.", "info")
    return redirect(url_for("policies.detail", slug=slug))


@bp.route("/policies/manage/<slug>/courses/<int:course_id>/unlink", methods=["POST"])
@roles_required(*HR_ROLES)
def unlink_course(slug: str, course_id: int):
    course = management.unlink_course(current_user, slug, course_id, ip_address=client_ip())
    flash(f"{course.title} is no longer linked to this policy.", "success")
    return redirect(url_for("policies.detail", slug=slug))


@bp.route("/policies/manage/<slug>/retire", methods=["POST"])
@roles_required(*HR_ROLES)
def retire(slug: str):
    policy = management.retire_policy(current_user, slug, ip_address=client_ip())
    flash(f"{policy.title} is retired. Its versions and attestations are kept.", "success")
    return redirect(url_for("policies.detail", slug=slug))
