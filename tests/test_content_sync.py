"""`flask content sync` and `flask content check` on real files and a real database."""

from sqlalchemy import func, select

from tests.helpers import answer_key, start_quiz, submit
from training.content.models import Course, Question, QuestionVersion, TrainingModule
from training.extensions import db
from training.quizzes.models import QuizAttempt


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_sync_loads_and_is_idempotent(app, runner, write_course):
    write_course()
    first = runner.invoke(args=["content", "sync"])
    assert first.exit_code == 0, first.output
    assert "courses: 1 created" in first.output and "questions: 3 created" in first.output
    second = runner.invoke(args=["content", "sync"])
    assert second.exit_code == 0
    assert "1 unchanged" in second.output and "questions: 0 created, 0 new version, 0 retired" in second.output
    assert (count(app, Course), count(app, TrainingModule), count(app, Question), count(app, QuestionVersion)) == (
        1,
        2,
        3,
        3,
    )


def test_check_validates_without_writing(app, runner, write_course):
    write_course()
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0 and "OK: 1 courses, 2 modules, 3 questions." in result.output
    assert count(app, Course) == 0


def test_edited_question_becomes_a_new_version_and_old_attempts_keep_theirs(
    app, client, auth, make_user, runner, write_course, content_dirs
):
    write_course()
    runner.invoke(args=["content", "sync"])
    auth.login(make_user())
    attempt_id = start_quiz(auth, "test-course")
    submit(auth, attempt_id, answer_key(app, attempt_id))
    bank = content_dirs[1] / "test-course.yaml"
    bank.write_text(
        bank.read_text().replace("What should you do in tc-q1?", "What is the safest thing to do in tc-q1?")
    )
    result = runner.invoke(args=["content", "sync"])
    assert "1 new version" in result.output and "questions: 0 created, 1 new version" in result.output
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == "tc-q1")).scalar_one()
        assert question.current_version.version == 2
        assert db.session.execute(select(Course.version)).scalar_one() == 2
        versions = {
            q.question_version.version
            for q in db.session.get(QuizAttempt, attempt_id).questions
            if q.question_version.question_id == question.id
        }
        assert versions == {1}
    html = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "What should you do in tc-q1?" in html and "safest thing" not in html


def test_failing_sync_changes_nothing_and_names_file_line_and_question(app, runner, write_course, content_dirs):
    write_course()
    runner.invoke(args=["content", "sync"])
    bank = content_dirs[1] / "test-course.yaml"
    text = bank.read_text()
    edited = text.replace("What should you do in tc-q1?", "Changed prompt").replace(
        "  type: true_false", "  type: yes_no"
    )
    bank.write_text(edited)
    (content_dirs[0] / "test-course" / "03-new.md").write_text("---\ntitle: New module\n---\nBody.\n")
    result = runner.invoke(args=["content", "sync"])
    assert result.exit_code == 1
    line = edited.splitlines().index("- id: tc-q3") + 1
    assert f"quizzes/test-course.yaml:{line}: question tc-q3: type must be one of" in result.output
    assert "Nothing was changed." in result.output
    assert (count(app, TrainingModule), count(app, QuestionVersion)) == (2, 3)
    with app.app_context():
        assert db.session.execute(select(Course.version)).scalar_one() == 1


def test_sync_reports_a_malformed_file_instead_of_crashing(runner, write_course, content_dirs):
    write_course()
    (content_dirs[1] / "test-course.yaml").write_text("- id: tc-q1\n  options: [\n")
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 1
    assert "quizzes/test-course.yaml:" in result.output and "not valid YAML" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_removed_question_and_module_are_retired_not_deleted(app, auth, make_user, runner, write_course):
    write_course(
        questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false"), ("tc-q4", "single")),
        per_attempt=3,
    )
    runner.invoke(args=["content", "sync"])
    write_course(modules=("Intro",), questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false")))
    result = runner.invoke(args=["content", "sync"])
    assert "modules: 0 added, 1 retired" in result.output and "1 retired" in result.output
    with app.app_context():
        assert db.session.execute(select(Question.status).where(Question.key == "tc-q4")).scalar_one() == "retired"
        assert db.session.execute(select(TrainingModule.retired).where(TrainingModule.slug == "photos")).scalar_one()
    assert count(app, QuestionVersion) == 4


def test_retired_questions_are_not_drawn(app, auth, make_user, runner, write_course):
    write_course(
        questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false"), ("tc-q4", "single")),
        per_attempt=3,
    )
    runner.invoke(args=["content", "sync"])
    write_course(questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false")))
    runner.invoke(args=["content", "sync"])
    auth.login(make_user())
    attempt_id = start_quiz(auth, "test-course")
    with app.app_context():
        keys = {q.question_version.question.key for q in db.session.get(QuizAttempt, attempt_id).questions}
    assert keys == {"tc-q1", "tc-q2", "tc-q3"}


def test_course_settings_change_makes_a_new_course_version(app, runner, write_course):
    write_course(pass_mark=60)
    runner.invoke(args=["content", "sync"])
    write_course(pass_mark=80)
    result = runner.invoke(args=["content", "sync"])
    assert "0 created, 1 new version" in result.output
    with app.app_context():
        course = db.session.execute(select(Course)).scalar_one()
        assert (course.version, course.pass_mark) == (2, 80)
