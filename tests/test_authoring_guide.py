"""The authoring guide as a page: authors' pages link it instead of naming commands and files."""

import re

import pytest

AUTHOR_PAGES = ["/authoring", "/authoring/courses/test-course/import"]


def test_the_guide_is_docs_authoring_md_with_linkable_sections(client, auth, make_user):
    auth.login(make_user(role="author"))
    html = client.get("/authoring/guide").get_data(as_text=True)
    assert '<h1 id="writing-courses-and-scenario-questions">Writing courses and scenario questions</h1>' in html
    assert '<h2 id="import-and-export">Import and export</h2>' in html
    assert '<h2 id="files-and-the-browser">Files and the browser</h2>' in html
    assert "<table>" in html and "<script" not in html.split("</header>", 1)[1]


@pytest.mark.parametrize("path", AUTHOR_PAGES)
def test_authors_pages_show_no_command_lines_or_repository_paths(client, auth, make_user, course, path):
    auth.login(make_user(role="author"))
    html = client.get(path).get_data(as_text=True)
    assert "flask " not in html and "docs/" not in html and "quizzes/" not in html
    assert re.search(r'href="/authoring/guide(#[a-z-]+)?"', html)


def test_an_empty_catalog_asks_for_a_course_without_a_command(client, auth, make_user):
    auth.login(make_user(role="author"))
    html = client.get("/authoring").get_data(as_text=True)
    assert "There are no courses yet" in html and "<code>" not in html
