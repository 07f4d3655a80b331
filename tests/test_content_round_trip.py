"""Browser edits, then `flask content export`, then `flask content sync`: the files and the database agree."""

import dataclasses

from sqlalchemy import select

from training.authoring.courses import services as course_services
from training.authoring.questions.saving import save_question
from training.content.loader import load_content
from training.content.models import Course, Question, TrainingModule
from training.content.questions import spec_of
from training.extensions import db


def run(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def edit_everything_in_the_browser(app, author_id):
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        item = db.session.execute(select(Question).where(Question.key == "tc-q2")).scalar_one()
        spec = dataclasses.replace(
            spec_of(item.current_version, "tc-q2"), prompt="Which of these apply, after the edit?"
        )
        save_question(course, spec, author_id, question=item, base_version=item.current_version.version)
        settings = dataclasses.replace(course_services.settings_of(course), pass_mark=75, title="Test Course, revised")
        course_services.update_settings(course, settings, author_id, token=course_services.settings_token(course))
        intro, photos = course_services.modules_of(course)
        text = course_services.ModuleText(intro.title, "A new summary", intro.body + "\n\nOne more paragraph.")
        course_services.update_module(intro, text, author_id, token=course_services.module_token(intro))
        course_services.move_module(photos, "up", author_id)
        course_services.create_module(
            course, course_services.ModuleText("Reporting", "", "## Reporting\n\nTell the privacy officer."), author_id
        )
        course_services.set_module_retired(
            db.session.execute(select(TrainingModule).where(TrainingModule.slug == "intro")).scalar_one(),
            True,
            author_id,
        )


def browser_marks(app):
    with app.app_context():
        rows = [
            *db.session.execute(select(Question.key, Question.browser_edited_at)).all(),
            *db.session.execute(select(TrainingModule.slug, TrainingModule.browser_edited_at)).all(),
            *db.session.execute(select(Course.slug, Course.browser_edited_at)).all(),
        ]
        return {name for name, edited in rows if edited is not None}


def test_export_writes_the_browser_edits_and_the_next_sync_agrees_with_them(
    app, runner, course, content_dirs, make_user
):
    author = make_user(role="author")
    edit_everything_in_the_browser(app, author.id)
    assert "conflict" not in run(runner, "content", "sync")
    run(runner, "content", "export")
    bundle = load_content(*content_dirs)
    assert bundle.ok, [str(e) for e in bundle.errors]
    (spec,) = bundle.courses
    assert (spec.title, spec.pass_mark) == ("Test Course, revised", 75)
    assert [m.slug for m in spec.modules] == ["photos", "reporting"]
    assert next(q for q in spec.questions if q.id == "tc-q2").prompt == "Which of these apply, after the edit?"
    output = run(runner, "content", "sync")
    assert "conflict" not in output and "kept" not in output, output
    assert browser_marks(app) <= {"intro"}  # the retired module is not in the files; it stays retired
    with app.app_context():
        course_row = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        version = course_row.version
        active = [m.slug for m in course_row.modules]
    assert active == ["photos", "reporting"]
    assert "conflict" not in run(runner, "content", "sync")
    with app.app_context():
        assert db.session.execute(select(Course.version).where(Course.slug == "test-course")).scalar_one() == version
