"""`flask users` and `flask demo`."""

from sqlalchemy import func, select

from training.auth.models import User
from training.completions.models import Completion
from training.extensions import db
from training.quizzes.models import QuizAttempt


def test_users_create_reads_the_password_from_stdin(app, runner, auth):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Nurse@Example.org",
            "--name",
            "Nia Nurse",
            "--role",
            "manager",
            "--department",
            "Emergency Department",
        ],
        input="a perfectly fine password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created manager nurse@example.org" in result.output
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "nurse@example.org")).scalar_one()
        assert (user.role, user.department.name) == ("manager", "Emergency Department")
    assert auth.login("nurse@example.org", "a perfectly fine password").status_code == 302


def test_users_create_refuses_bad_input(runner):
    short = runner.invoke(args=["users", "create", "a@example.org", "--name", "A"], input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    bad_email = runner.invoke(args=["users", "create", "not-an-email", "--name", "A"], input="long enough password\n")
    assert bad_email.exit_code != 0 and "Email is not valid" in bad_email.output
    bad_role = runner.invoke(args=["users", "create", "a@example.org", "--name", "A", "--role", "king"], input="x\n")
    assert bad_role.exit_code != 0


def test_users_create_refuses_hidden_characters_in_name_department_and_job_title(app, runner):
    cases = [
        (["--name", "Nia\u202eOkafor"], "Name contains a bidirectional text control (U+202E, right-to-left override)"),
        (["--name", "Nia", "--department", "Emergency\nDepartment"], "Department contains a control character"),
        (["--name", "Nia", "--job-title", "Nurse\u2028Lead"], "Job title contains a line separator (U+2028)"),
    ]
    for options, message in cases:
        result = runner.invoke(args=["users", "create", "nia@example.org", *options], input="long enough password\n")
        assert result.exit_code != 0 and message in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    kept = runner.invoke(
        args=["users", "create", "nia@example.org", "--name", "\ufeffNia Okafor", "--department", "\ufeffICU"],
        input="long enough password\n",
    )
    assert kept.exit_code == 0, kept.output
    with app.app_context():
        nia = db.session.execute(select(User).where(User.email == "nia@example.org")).scalar_one()
        assert (nia.name, nia.department.name) == ("Nia Okafor", "ICU")


def test_users_create_joins_the_department_whatever_its_case_and_spacing(app, runner):
    """The same department as staff, SCIM and SSO find: not a second "emergency  department"."""
    for email, department in [("a@example.org", "Emergency Department"), ("b@example.org", " emergency  DEPARTMENT ")]:
        result = runner.invoke(
            args=["users", "create", email, "--name", "A", "--department", department], input="long enough password\n"
        )
        assert result.exit_code == 0, result.output
    with app.app_context():
        names = {u.department.name for u in db.session.execute(select(User)).scalars()}
        assert names == {"Emergency Department"}


def test_users_create_refuses_a_duplicate(runner):
    args = ["users", "create", "dup@example.org", "--name", "Dup"]
    assert runner.invoke(args=args, input="long enough password\n").exit_code == 0
    again = runner.invoke(args=args, input="long enough password\n")
    assert again.exit_code != 0 and "already exists" in again.output


def test_deactivate_unknown_user_is_a_clear_error(runner):
    result = runner.invoke(args=["users", "deactivate", "ghost@example.org"])
    assert result.exit_code != 0 and "No user with email ghost@example.org" in result.output


def test_demo_needs_content_then_creates_an_organisation_once(app, runner, auth, write_course, sync):
    refused = runner.invoke(args=["demo"])
    assert refused.exit_code != 0 and "flask content sync" in refused.output
    write_course()
    sync()
    result = runner.invoke(args=["demo", "--seed", "7"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if "password:" in line}
    assert set(lines) == {"staff", "manager", "hr", "author", "admin"}
    staff = lines["staff"]
    assert auth.login(staff[1], staff[-1]).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 41
        assert db.session.scalar(select(func.count()).select_from(Completion)) > 0
        assert db.session.scalar(select(func.count()).select_from(QuizAttempt).where(QuizAttempt.passed.is_(False))) > 0
        assert len({u.department_id for u in db.session.execute(select(User)).scalars()}) >= 5
    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "already has users" in again.output
    assert runner.invoke(args=["demo"]).exit_code != 0


def test_set_password_replaces_it_and_ends_sessions(client, auth, make_user, runner):
    user = make_user()
    auth.login(user)
    result = runner.invoke(args=["users", "set-password", user.email], input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302
    assert auth.login(user).status_code == 401
    assert auth.login(user, "a brand new passphrase").status_code == 302
    short = runner.invoke(args=["users", "set-password", user.email], input="short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
