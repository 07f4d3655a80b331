"""The pages of other areas that show where someone stands (their obligations): "My training", the staff's
policy pages and HR's list of policies with attestation counts.

They read compliance's status, so they live here, above courses and policies (docs/architecture.md); they are
routes of the `courses` and `policies` blueprints, which `create_app` registers after importing this module.
"""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from training.auth.access import roles_required
from training.client import client_ip
from training.clock import day_text
from training.compliance import learner_home, policy_status
from training.courses import services as courses
from training.courses.routes import bp as courses_bp
from training.policies import lookups, reading
from training.policies.forms import AttestForm
from training.policies.routes import HR_ROLES
from training.policies.routes import bp as policies_bp


@courses_bp.route("/")
@login_required
def home():
    requirements = policy_status.learner_requirements(current_user.id)
    view = learner_home.home_view(courses.learner_courses(current_user.id), requirements, day_text)
    return render_template("courses/home.html", view=view)


@policies_bp.route("/policies")
@login_required
def index():
    return render_template("policies/index.html", compliance=policy_status.learner_compliance(current_user.id))


@policies_bp.route("/policies/<slug>")
@login_required
def show(slug: str):
    # A GET that writes on purpose: only the first opening of a version, which starts its reading time.
    view = reading.open_policy(current_user.id, slug)
    return render_template(
        "policies/show.html",
        view=view,
        cell=policy_status.policy_cell(current_user.id, view.policy.id),
        form=AttestForm(version_id=view.version.id),
    )


@policies_bp.route("/policies/<slug>/attest", methods=["POST"])
@login_required
def attest(slug: str):
    form = AttestForm()
    if not form.validate_on_submit():
        view = reading.open_policy(current_user.id, slug, record_reading=False)
        cell = policy_status.policy_cell(current_user.id, view.policy.id)
        return render_template("policies/show.html", view=view, cell=cell, form=form), 422
    try:
        attestation, created = reading.attest(current_user, slug, int(form.version_id.data), ip_address=client_ip())
    except reading.AttestationRefused as refusal:
        policy = lookups.live_policy(slug)
        return render_template("policies/refused.html", policy=policy, message=refusal.message), 409
    version = attestation.policy_version.version
    if created:
        flash(f"Thank you. Your attestation to version {version} is recorded.", "success")
    else:
        flash(f"You had already attested to version {version}; it was recorded once.", "info")
    return redirect(url_for("policies.show", slug=slug))


@policies_bp.route("/policies/manage")
@roles_required(*HR_ROLES)
def manage():
    return render_template("policies/manage.html", summaries=policy_status.policy_summaries())
