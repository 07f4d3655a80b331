"""Dates shown to people are written one way ("6 Dec 2026"); ISO dates only where machines read them.

A learner completes a course; then their pages, the certificate's pages and HR's and admins' pages are read
for ISO dates in the text a person sees (attributes, such as `<time datetime>` and date inputs, are for
machines). Every `<time datetime>` must be a valid HTML date and time: at most milliseconds.
"""

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from tests.conftest import Auth
from tests.helpers import complete_course
from training.certificates.models import Certificate
from training.extensions import db

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
HTML_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})")


class VisibleText(HTMLParser):
    """The text of a page as a person reads it: no scripts or styles, no attributes."""

    def __init__(self):
        super().__init__()
        self.parts, self.times, self._hidden = [], [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")
        if tag == "time":
            self.times.append(dict(attrs).get("datetime", ""))

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def read(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


@pytest.fixture
def world(app, client, auth, make_user, make_requirement, course):
    """A learner who completed the course (required of them), an admin, and the certificate's serial."""
    learner = make_user(name="Nia Nurse", department="Emergency")
    make_requirement("test-course", due_within_days=10)
    auth.login(learner)
    attempt_id = complete_course(app, auth)
    with app.app_context():
        serial = db.session.execute(select(Certificate.serial)).scalar_one()
    admin = app.test_client()
    Auth(admin).login(make_user(role="admin"))
    return {"learner": client, "admin": admin, "serial": serial, "attempt": attempt_id, "learner_id": learner.id}


def pages(world):
    serial, attempt, learner_id = world["serial"], world["attempt"], world["learner_id"]
    learner = ["/", "/courses/test-course", "/courses/test-course/attempts", f"/attempts/{attempt}", "/transcript"]
    learner += [f"/certificates/{serial}", f"/verify/{serial}", "/policies", "/account", "/account/sessions"]
    admin = ["/audit", "/compliance", "/compliance/people", f"/compliance/people/{learner_id}", "/certificates"]
    admin += ["/authoring/activity", "/admin/integrations", "/staff", f"/staff/{learner_id}/edit", "/reminders"]
    return [("learner", path) for path in learner] + [("admin", path) for path in admin]


def test_pages_show_people_no_iso_dates_and_machines_valid_times(world):
    checked = 0
    for who, path in pages(world):
        response = world[who].get(path)
        assert response.status_code == 200, path
        page = read(response.get_data(as_text=True))
        text = " ".join(page.parts)
        assert not ISO_DAY.search(text), f"{path} shows {ISO_DAY.search(text).group()} to people"
        for value in page.times:
            assert HTML_MOMENT.fullmatch(value), f"{path}: <time datetime={value!r}> is not a valid HTML time"
        checked += 1 + len(page.times)
    assert checked > len(pages(world))  # the audit record had <time> elements to check


def test_the_verify_json_keeps_iso_days_for_machines(world):
    body = world["learner"].get(f"/verify/{world['serial']}.json").json
    assert ISO_DAY.fullmatch(body["issued_on"]) and ISO_DAY.fullmatch(body["expires_on"])
