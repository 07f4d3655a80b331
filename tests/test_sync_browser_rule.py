"""`flask content sync` never overwrites what an author changed in the browser, and says so."""

import dataclasses

from sqlalchemy import select

from training.authoring.questions.saving import change_status, save_question
from training.content.models import Course, Question, TrainingModule
from training.content.questions import spec_of
from training.db import utcnow
from training.extensions import db


def sync(runner, *args):
    result = runner.invoke(args=["content", "sync", *args])
    assert result.exit_code == 0, result.output
    return result.output


def question(key):
    return db.session.execute(select(Question).where(Question.key == key)).scalar_one()


def edit_in_browser(app, key="tc-q1", prompt="Browser prompt for tc-q1?"):
    with app.app_context():
        item = question(key)
        course = db.session.get(Course, item.course_id)
        spec = dataclasses.replace(spec_of(item.current_version, key), prompt=prompt)
        save_question(course, spec, None, question=item, base_version=item.current_version.version)


def edit_file(content_dirs, old, new, name="test-course.yaml"):
    bank = content_dirs[1] / name
    bank.write_text(bank.read_text().replace(old, new))


def current(app, key="tc-q1"):
    with app.app_context():
        item = question(key)
        return item.current_version.prompt, item.current_version.version, item.status, item.browser_edited_at


def test_a_browser_edit_is_kept_when_the_file_did_not_change(app, runner, course):
    edit_in_browser(app)
    output = sync(runner)
    assert "kept (edited in the browser): question tc-q1" in output
    assert "conflict" not in output
    prompt, version, status, edited = current(app)
    assert (prompt, version, status) == ("Browser prompt for tc-q1?", 2, "published") and edited is not None


def test_a_browser_edit_and_a_file_edit_conflict_and_the_browser_wins(app, runner, course, content_dirs):
    edit_in_browser(app)
    edit_file(content_dirs, "What should you do in tc-q1?", "File prompt for tc-q1?")
    output = sync(runner)
    assert "conflict: question tc-q1 was edited in the browser and in the files" in output
    assert "flask content export" in output and "flask content sync --prefer-files" in output
    assert current(app)[:2] == ("Browser prompt for tc-q1?", 2)
    assert "conflict: question tc-q1" in sync(runner)  # still reported until resolved


def test_prefer_files_lets_the_files_win_and_says_so(app, runner, course, content_dirs):
    edit_in_browser(app)
    edit_file(content_dirs, "What should you do in tc-q1?", "File prompt for tc-q1?")
    output = sync(runner, "--prefer-files")
    assert "overridden by the files (--prefer-files): question tc-q1" in output
    prompt, version, _, edited = current(app)
    assert (prompt, version, edited) == ("File prompt for tc-q1?", 3, None)
    with app.app_context():
        assert question("tc-q1").current_version.source == "file"
    assert "tc-q1" not in sync(runner)  # in agreement: nothing to report


def test_files_that_catch_up_with_the_browser_agree_again(app, runner, course, content_dirs):
    edit_in_browser(app)
    edit_file(content_dirs, "What should you do in tc-q1?", "Browser prompt for tc-q1?")
    output = sync(runner)
    assert "tc-q1" not in output and "questions: 0 created, 0 new version, 0 retired" in output
    prompt, version, _, edited = current(app)
    assert (prompt, version, edited) == ("Browser prompt for tc-q1?", 2, None)
    with app.app_context():
        assert question("tc-q1").synced_hash == question("tc-q1").current_version.content_hash
    edit_file(content_dirs, "Browser prompt for tc-q1?", "Later file prompt?")
    sync(runner)
    assert current(app)[:2] == ("Later file prompt?", 3)  # the files own it again


def test_a_question_retired_in_the_browser_stays_retired(app, runner, write_course):
    write_course(questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false")), per_attempt=2)
    sync(runner)
    with app.app_context():
        change_status(question("tc-q3"), "retire", None)
    output = sync(runner)
    assert "kept (edited in the browser): question tc-q3" in output
    assert current(app, "tc-q3")[2] == "retired"


def test_questions_made_in_the_browser_are_not_retired_by_a_sync(app, runner, course):
    with app.app_context():
        base = spec_of(question("tc-q1").current_version, "tc-browser")
        save_question(db.session.get(Course, question("tc-q1").course_id), base, None, status="published")
    edit_in_browser(app, "tc-q2", "Browser prompt for tc-q2?")
    output = sync(runner)
    assert "kept (edited in the browser): question tc-browser (not in the files)" in output
    assert current(app, "tc-browser")[2] == "published"
    output = sync(runner, "--prefer-files")
    assert current(app, "tc-browser")[2] == "published"  # the files never had it
    assert "overridden by the files (--prefer-files): question tc-q2" in output


def test_a_file_question_edited_in_the_browser_and_removed_from_the_files(app, runner, write_course):
    write_course(questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false")), per_attempt=2)
    sync(runner)
    edit_in_browser(app, "tc-q3", "Browser prompt for tc-q3?")
    write_course(questions=(("tc-q1", "single"), ("tc-q2", "multiple")), per_attempt=2)
    assert "kept (edited in the browser): question tc-q3 (not in the files)" in sync(runner)
    assert current(app, "tc-q3")[2] == "published"
    assert "overridden by the files (--prefer-files): question tc-q3 (not in the files)" in sync(
        runner, "--prefer-files"
    )
    assert current(app, "tc-q3")[2] == "retired"


def mark_module(app, slug, **values):
    with app.app_context():
        module = db.session.execute(select(TrainingModule).where(TrainingModule.slug == slug)).scalar_one()
        for name, value in values.items():
            setattr(module, name, value)
        module.browser_edited_at = utcnow()
        db.session.commit()


def module_row(app, slug):
    with app.app_context():
        module = db.session.execute(select(TrainingModule).where(TrainingModule.slug == slug)).scalar_one()
        return module.body, module.retired, module.browser_edited_at


def test_module_edits_follow_the_same_rule(app, runner, course, content_dirs):
    mark_module(app, "intro", body="Browser body.")
    output = sync(runner)
    assert "kept (edited in the browser): module test-course/intro" in output
    assert module_row(app, "intro")[0] == "Browser body."
    intro = content_dirs[0] / "test-course" / "01-intro.md"
    intro.write_text(intro.read_text().replace("Text of the Intro module.", "New file text."))
    assert "conflict: module test-course/intro" in sync(runner)
    assert module_row(app, "intro")[0] == "Browser body."
    sync(runner, "--prefer-files")
    body, _, edited = module_row(app, "intro")
    assert "New file text." in body and edited is None


def test_a_module_made_in_the_browser_is_not_retired(app, runner, course):
    with app.app_context():
        course_id = db.session.execute(select(Course.id)).scalar_one()
        db.session.add(
            TrainingModule(
                course_id=course_id, slug="extra", position=3, title="Extra", body="B", browser_edited_at=utcnow()
            )
        )
        db.session.commit()
    assert "kept (edited in the browser): module test-course/extra (not in the files)" in sync(runner)
    assert module_row(app, "extra")[1] is False
    sync(runner, "--prefer-files")
    assert module_row(app, "extra")[1] is False


def course_row(app):
    with app.app_context():
        item = db.session.execute(select(Course)).scalar_one()
        return item.pass_mark, item.version, item.published, item.browser_edited_at


def test_course_settings_changed_in_the_browser_are_kept(app, runner, course, content_dirs):
    with app.app_context():
        item = db.session.execute(select(Course)).scalar_one()
        item.pass_mark, item.version, item.browser_edited_at = 90, 2, utcnow()
        db.session.commit()
    assert "kept (edited in the browser): course test-course settings" in sync(runner)
    assert course_row(app)[:2] == (90, 2)
    settings = content_dirs[0] / "test-course" / "course.yaml"
    settings.write_text(settings.read_text().replace("pass_mark: 60", "pass_mark: 70"))
    assert "conflict: course test-course settings" in sync(runner)
    assert course_row(app)[:2] == (90, 2)
    settings.write_text(settings.read_text().replace("pass_mark: 70", "pass_mark: 90"))
    output = sync(runner)
    assert "test-course" not in output.split("courses:")[0] and "conflict" not in output
    assert course_row(app) == (90, 2, True, None)  # agreement: no new version


def test_a_course_unpublished_in_the_browser_stays_unpublished(app, runner, course):
    with app.app_context():
        item = db.session.execute(select(Course)).scalar_one()
        item.published, item.browser_edited_at = False, utcnow()
        db.session.commit()
    assert "kept (edited in the browser): course test-course settings" in sync(runner)
    assert course_row(app)[2] is False


def test_a_course_made_in_the_browser_is_never_unpublished_by_a_sync(app, runner, course):
    with app.app_context():
        db.session.add(
            Course(
                slug="browser-course",
                title="Made in the browser",
                pass_mark=80,
                questions_per_attempt=1,
                certificate_validity_months=12,
                estimated_minutes=10,
                published=True,
                browser_edited_at=utcnow(),
            )
        )
        db.session.commit()
    output = sync(runner, "--prefer-files")
    assert "courses: 0 created, 0 new version, 1 unchanged, 0 retired" in output
    with app.app_context():
        assert db.session.execute(select(Course.published).where(Course.slug == "browser-course")).scalar_one()


def test_a_course_from_the_files_that_disappears_is_still_unpublished(app, runner, course, content_dirs):
    (content_dirs[1] / "test-course.yaml").unlink()
    for path in (content_dirs[0] / "test-course").iterdir():
        path.unlink()
    (content_dirs[0] / "test-course").rmdir()
    assert "1 retired" in sync(runner)
    assert course_row(app)[2] is False
