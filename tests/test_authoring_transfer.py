"""Import and export of question banks through the pages, and `flask content export`."""

import io
import os
import re
from html import unescape

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token, question_yaml
from tests.moodle_gift import moodle_gift_samples
from training.audit.models import AuditEvent
from training.authoring.transfer.gift.reader import parse_gift
from training.content.loader import _Errors, load_content, parse_question_bank
from training.content.models import Course, Question, QuestionVersion, TrainingModule
from training.content.questions import spec_of
from training.extensions import db

PAGE = "/authoring/courses/test-course/import"
APPLY = "/authoring/courses/test-course/import/apply"

GIFT = """\
// A bank exported from another platform.
$CATEGORY: $course$/top/Default for Ward/Privacy

::Visitor photo::A visitor asks to photograph the ward board.\\n
What do you say? {
=No, the board shows patient details#Right: the board is patient information.
~Yes, if they are quick#Speed does not make a disclosure acceptable.
####Keep patient information out of photos.
}

::Essay one::Describe your ward's privacy routine. {}

::Helpful colleague::A colleague posts a thank-you note naming a patient. {F
#Naming the patient is a disclosure.#Right: it is a disclosure.####Thanks can be given without names.}
"""


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path):
    folder = tmp_path / "question-imports"
    app.config["AUTHORING_IMPORT_DIR"] = str(folder)
    return folder


@pytest.fixture
def author(make_user, auth):
    user = make_user(role="author")
    auth.login(user.email)
    return user


def upload(client, data: bytes, filename: str, status="draft", fmt="", path=PAGE):
    """The body is encoded in memory: the test client would spool a large one to a file it never closes."""
    form = {"csrf_token": csrf_token(client, path), "status": status, "format": fmt}
    form["file"] = FileStorage(io.BytesIO(data), filename)
    boundary, body = encode_multipart(MultiDict(form))
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def apply_fields(response) -> dict:
    html = response.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html)
    digest = re.search(r'name="sha256" type="hidden" value="([^"]+)"', html)
    assert token and digest, "no apply form on the preview"
    return {"token": token.group(1), "sha256": digest.group(1)}


def apply(client, fields, path=APPLY):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **fields})


def counts(app):
    with app.app_context():
        questions = db.session.execute(select(func.count()).select_from(Question)).scalar_one()
        versions = db.session.execute(select(func.count()).select_from(QuestionVersion)).scalar_one()
        return questions, versions


def changed_bank() -> bytes:
    """tc-q1 with a new prompt, tc-q2 as it is, and a new question."""
    return (
        question_yaml("tc-q1", "single", prompt="A changed prompt?")
        + question_yaml("tc-q2", "multiple")
        + question_yaml("tc-new", "true_false")
    ).encode()


def test_a_yaml_import_is_previewed_then_applied_once(app, client, course, author):
    before = counts(app)
    response = upload(client, changed_bank(), "bank.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New question" in html and "New version" in html and "Unchanged" in html
    assert counts(app) == before  # a preview writes nothing
    fields = apply_fields(response)
    response = apply(client, fields)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/authoring/courses/test-course/questions"
    )
    with app.app_context():
        new = db.session.execute(select(Question).where(Question.key == "tc-new")).scalar_one()
        assert new.status == "draft" and new.current_version.source == "import"
        assert new.current_version.created_by_id == author.id
        changed = db.session.execute(select(Question).where(Question.key == "tc-q1")).scalar_one()
        assert changed.status == "published"  # an existing question keeps its status when importing drafts
        assert changed.current_version.version == 2 and changed.current_version.prompt == "A changed prompt?"
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "question_bank.imported")).scalar_one()
        assert event.subject_type == "question_bank" and event.subject_id == "test-course"
        assert (event.details["created"], event.details["updated"], event.details["unchanged"]) == (1, 1, 1)
        assert event.actor_id == author.id
    after = counts(app)
    second = apply(client, fields)
    assert second.status_code == 409 and "already been imported" in second.get_data(as_text=True)
    assert counts(app) == after


def test_a_gift_import_publishes_and_skips_what_it_cannot_hold(app, client, course, author):
    response = upload(client, GIFT.encode(), "moodle.txt", status="published")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Skipped (1)" in html and "essay" in html and ">11<" in html  # the essay's line
    assert apply(client, apply_fields(response)).status_code == 302
    with app.app_context():
        rows = db.session.execute(select(Question).where(Question.key.in_(["visitor-photo", "helpful-colleague"])))
        questions = {q.key: q for q in rows.scalars()}
        assert set(questions) == {"visitor-photo", "helpful-colleague"}
        assert all(q.status == "published" for q in questions.values())
        photo = spec_of(questions["visitor-photo"].current_version, "visitor-photo")
        assert photo.scenario == "A visitor asks to photograph the ward board."
        assert photo.prompt == "What do you say?" and photo.tags == ("privacy",)
        colleague = questions["helpful-colleague"].current_version
        assert colleague.type == "true_false" and [o.correct for o in colleague.options] == [False, True]


def test_one_bad_question_imports_nothing(app, client, course, author):
    bad = question_yaml("tc-bad", "single").replace("correct: true", "correct: maybe")
    before = counts(app)
    response = upload(client, changed_bank() + bad.encode(), "bank.yml")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in html and 'name="token"' not in html
    assert re.search(r'data-label="Line">\d+</td>', html)
    assert counts(app) == before


def test_an_id_from_another_course_is_a_problem(app, client, write_course, sync, course, author):
    write_course(slug="other-course", title="Other", questions=(("oc-q1", "single"),))
    sync()
    response = upload(client, question_yaml("oc-q1").encode(), "bank.yaml")
    assert response.status_code == 422
    assert "already used by a question in Other" in response.get_data(as_text=True)


def test_a_file_that_is_not_utf8_is_refused_with_its_place(app, client, course, author):
    response = upload(client, "- id: caf\u00e9\n".encode("latin-1"), "bank.yaml")
    assert response.status_code == 422
    assert "not UTF-8" in response.get_data(as_text=True) and "byte 10" in response.get_data(as_text=True)
    with_bom = b"\xef\xbb\xbf" + question_yaml("tc-bom").encode()
    assert upload(client, with_bom, "bank.yaml").status_code == 200


def test_an_oversized_file_is_a_413_and_nothing_is_kept(app, client, course, author, import_folder):
    response = upload(client, b"#" * (1024 * 1024 + 1), "big.gift")
    assert response.status_code == 413 and "Nothing was imported" in response.get_data(as_text=True)
    huge = upload(client, os.urandom(3 * 1024 * 1024), "huge.yaml")
    assert huge.status_code == 413 and "larger than 2 MB" in huge.get_data(as_text=True)
    assert not import_folder.exists() or not list(import_folder.iterdir())


def test_an_unknown_extension_asks_for_the_format(app, client, course, author):
    response = upload(client, question_yaml("tc-x").encode(), "bank.doc")
    assert response.status_code == 422 and "choose the format" in response.get_data(as_text=True)
    assert upload(client, question_yaml("tc-x").encode(), "bank.doc", fmt="yaml").status_code == 200


def test_html_and_scripts_in_a_file_are_shown_as_text(app, client, course, author):
    text = question_yaml("tc-html", prompt="'<script>alert(1)</script> or <b>bold</b>?'").replace(
        "A situation on the ward for tc-html.", "<img src=x onerror=alert(2)> **Ward** story"
    )
    response = upload(client, text.encode(), "bank.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "onerror" not in html.replace("&lt;img src=x onerror=alert(2)&gt;", "")
    assert "<strong>Ward</strong>" in html  # the scenario is Markdown, rendered and sanitised


def test_tampered_other_users_and_other_courses_tokens_are_404(
    app, client, auth, make_user, write_course, sync, course, author
):
    write_course(slug="other-course", title="Other", questions=(("oc-q1", "single"),))
    sync()
    fields = apply_fields(upload(client, changed_bank(), "bank.yaml"))
    assert apply(client, {**fields, "token": "x" * 32}).status_code == 404
    assert apply(client, {**fields, "sha256": "0" * 64}).status_code == 404
    assert apply(client, {**fields, "token": "../../etc/passwd"}).status_code == 404
    assert apply(client, fields, path="/authoring/courses/other-course/import/apply").status_code == 404
    auth.logout()
    auth.login(make_user(role="admin"))
    assert apply(client, fields).status_code == 404
    auth.logout()
    auth.login(author.email)
    assert apply(client, fields).status_code == 302


def test_an_apply_after_the_bank_changed_is_refused_whole(app, client, write_course, sync, course, author):
    fields = apply_fields(upload(client, changed_bank(), "bank.yaml"))
    write_course(slug="other-course", title="Other", questions=(("tc-new", "single"),))
    sync()  # another course now owns tc-new
    before = counts(app)
    response = apply(client, fields)
    assert response.status_code == 409 and "already used by a question in Other" in response.get_data(as_text=True)
    assert counts(app) == before


def test_an_identical_file_has_nothing_to_import(app, client, course, author):
    response = upload(client, question_yaml("tc-q1").encode(), "bank.yaml")
    assert "nothing to import" in response.get_data(as_text=True) and 'name="token"' not in response.get_data(
        as_text=True
    )


def bank_specs_in_db(app, statuses=("published", "draft")):
    with app.app_context():
        rows = db.session.execute(select(Question).where(Question.status.in_(statuses)).order_by(Question.id)).scalars()
        return [spec_of(q.current_version, q.key) for q in rows]


def test_downloads_parse_back_and_leave_out_retired_questions(app, client, course, author):
    apply(client, apply_fields(upload(client, changed_bank(), "bank.yaml")))
    with app.app_context():
        db.session.execute(select(Question).where(Question.key == "tc-q2")).scalar_one().status = "retired"
        db.session.commit()
    expected = bank_specs_in_db(app)
    assert [s.id for s in expected] == ["tc-q1", "tc-q3", "tc-new"]
    yaml_file = client.get("/authoring/courses/test-course/export.yaml")
    assert yaml_file.status_code == 200
    assert yaml_file.headers["Content-Disposition"] == "attachment; filename=test-course.yaml"
    errors = _Errors("download")
    assert parse_question_bank(yaml_file.get_data(as_text=True), errors) == expected and not errors.items
    gift_file = client.get("/authoring/courses/test-course/export.gift")
    assert gift_file.headers["Content-Disposition"] == "attachment; filename=test-course.gift"
    assert parse_gift(gift_file.get_data(as_text=True)).specs == expected
    page = client.get(PAGE).get_data(as_text=True)
    assert "published and draft questions" in page and "retired questions are left out" in page


def edit_form(client, question_id: int, spec, version: int, **changes) -> dict:
    data = {
        "csrf_token": csrf_token(client, f"/authoring/questions/{question_id}/edit"),
        "type": spec.type,
        "scenario": spec.scenario,
        "prompt": spec.prompt,
        "explanation": spec.explanation,
        "tags": ", ".join(spec.tags),
        "references": "\n".join(spec.references),
        "base_version": str(version),
        "change_note": "",
    }
    for n, option in enumerate(spec.options):
        data[f"options-{n}-text"] = option.text
        data[f"options-{n}-feedback"] = option.feedback
        if option.correct:
            data[f"options-{n}-correct"] = "y"
    return data | changes


def test_cli_export_writes_what_the_database_holds(app, client, runner, course, author, tmp_path):
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == "tc-q1")).scalar_one()
        question_id, spec, version = (
            question.id,
            spec_of(question.current_version, "tc-q1"),
            question.current_version.version,
        )
    response = client.post(
        f"/authoring/questions/{question_id}/edit",
        data=edit_form(
            client, question_id, spec, version, prompt="Edited in the browser?", scenario="Line one.\n\nTwo."
        ),
    )
    assert response.status_code == 302
    apply(client, apply_fields(upload(client, question_yaml("tc-draft").encode(), "bank.yaml")))  # a draft
    out = tmp_path / "exported"
    result = runner.invoke(args=["content", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "3 published question(s)" in result.output
    bundle = load_content(out / "modules", out / "quizzes")
    assert bundle.ok, bundle.errors
    exported = {q.id: q for q in bundle.courses[0].questions}
    assert set(exported) == {"tc-q1", "tc-q2", "tc-q3"}  # the draft stays in the database
    assert exported["tc-q1"] == bank_specs_in_db(app, ("published",))[0]
    assert exported["tc-q1"].prompt == "Edited in the browser?"
    assert [m.slug for m in bundle.courses[0].modules] == ["intro", "photos"]


def test_cli_export_replaces_stale_module_files_in_place(app, runner, course, content_dirs):
    modules_dir, quizzes_dir = content_dirs
    (modules_dir / "test-course" / "07-old-notes.md").write_text("---\ntitle: Old\n---\nOld text.\n")
    with app.app_context():
        module = db.session.execute(select(TrainingModule).where(TrainingModule.slug == "intro")).scalar_one()
        module.retired = True
        db.session.commit()
    result = runner.invoke(args=["content", "export", "--course", "test-course"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (modules_dir / "test-course").iterdir()) == [
        "02-photos.md",
        "course.yaml",
    ]  # keeps its position
    assert "removed" in result.output
    assert not [p for p in modules_dir.iterdir() if p.name.startswith(".export-")]
    bundle = load_content(modules_dir, quizzes_dir)
    assert bundle.ok and [m.slug for m in bundle.courses[0].modules] == ["photos"]
    with app.app_context():
        course_row = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        assert bundle.courses[0].title == course_row.title


def test_cli_export_of_an_unknown_course_fails_cleanly(app, runner, course):
    result = runner.invoke(args=["content", "export", "--course", "nope"])
    assert result.exit_code == 1 and "no course with the slug 'nope'" in result.output


ROUTES = [
    ("get", PAGE),
    ("post", PAGE),
    ("post", APPLY),
    ("get", "/authoring/courses/test-course/export.yaml"),
    ("get", "/authoring/courses/test-course/export.gift"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(client, course, method, path):
    data = {"csrf_token": csrf_token(client, "/login")} if method == "post" else None
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["staff", "manager", "hr"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_authors_and_admins_get_in(client, auth, make_user, course, role, method, path):
    auth.login(make_user(role=role, department="Ward 1"))
    data = {"csrf_token": csrf_token(client, "/")} if method == "post" else None
    assert getattr(client, method)(path, data=data).status_code == 403


@pytest.mark.parametrize("role", ["author", "admin"])
def test_authors_and_admins_see_the_page_and_downloads(client, auth, make_user, course, role):
    auth.login(make_user(role=role))
    page = client.get(PAGE)
    assert page.status_code == 200 and 'aria-current="page">Import and export' in page.get_data(as_text=True)
    for path in ROUTES[3:]:
        assert client.get(path[1]).status_code == 200
    assert client.get("/authoring/courses/nope/import").status_code == 404
    assert client.get("/authoring/courses/nope/export.gift").status_code == 404
    assert client.get("/authoring/courses/test-course/export.csv").status_code == 404


def test_an_upload_without_a_file_or_token_is_refused(client, course, author):
    response = client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "status": "draft"})
    assert response.status_code == 422 and "Choose a .yaml" in response.get_data(as_text=True)
    assert client.post(APPLY, data={"csrf_token": csrf_token(client, PAGE)}).status_code == 400
    assert client.post(APPLY, data={"token": "x" * 32, "sha256": "0" * 64}).status_code == 400  # no CSRF token
    bad_status = upload(client, question_yaml("tc-s").encode(), "bank.yaml", status="retired")
    assert bad_status.status_code == 422


def test_moodles_grants_tomb_preview_reports_only_the_missing_feedback_and_explanations(app, client, course, author):
    data = (moodle_gift_samples() / "examples-grants-tomb.gift.txt").read_bytes()
    before = counts(app)
    response = upload(client, data, "examples-grants-tomb.gift.txt")
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and "Nothing was imported" in page and "Problems (7)" in page
    cells = r'data-label="Line">(\d+)</td>\s*<td data-label="Question">.*?</td>\s*<td data-label="Problem">(.*?)</td>'
    rows = re.findall(cells, page, re.DOTALL)
    assert rows == [
        ("1", "explanation is required: add general feedback (####...) before the closing }"),
        ("1", 'option 1 ("Grant"): feedback is required: write #feedback after the answer'),
        ("1", 'option 2 ("Jefferson"): feedback is required: write #feedback after the answer'),
        ("1", 'option 3 ("no one"): feedback is required: write #feedback after the answer'),
        ("3", "explanation is required: add general feedback (####...) before the closing }"),
        ("3", 'option 1 ("True"): feedback is required: write {FALSE#feedback for True#feedback for False}'),
        ("3", 'option 2 ("False"): feedback is required: write {FALSE#feedback for True#feedback for False}'),
    ]
    assert "correct option" not in page and "'True' and 'False'" not in page
    assert counts(app) == before


def test_html_in_a_gift_file_is_text_wherever_a_marker_allows_it(app, client, course, author):
    gift = (
        "::html-everywhere::[html]<p>A &lt;script&gt;alert(1)&lt;/script&gt; story<script>alert(2)</script></p>"
        "<p>Which one?</p>{\n=[html]<b>Safe</b> &lt;script&gt;alert(3)&lt;/script&gt;#[html]<i>Yes</i>\n"
        "~[plain]Other#[html]<script>alert(4)</script>No\n####[html]<em>Why</em>\n}"
    )
    response = upload(client, gift.encode(), "html.gift")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HTML was removed" in page
    assert "<script>" not in page and "alert(2)" not in page and "[html]" not in page and "[plain]" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; story" in page  # the scenario, through sanitised Markdown
    assert "Safe &lt;script&gt;alert(3)&lt;/script&gt;" in page  # the option, escaped
    assert apply(client, apply_fields(response)).status_code == 302
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == "html-everywhere")).scalar_one()
        spec = spec_of(question.current_version, "html-everywhere")
    assert spec.scenario == "A <script>alert(1)</script> story" and spec.prompt == "Which one?"
    assert [(o.text, o.feedback) for o in spec.options] == [("Safe <script>alert(3)</script>", "Yes"), ("Other", "No")]
    assert spec.explanation == "Why"
