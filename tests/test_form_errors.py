"""Form errors are announced and tied to their fields on every form, and focus is always visible.

Every POST rule of the app is here: a form with fields to fill is sent with invalid input, as a role
that may use it, and the answer must be the form again (a 4xx or 200) with the error summary at the
top of main (role=alert, "There is a problem", each error a link to an element of the page), every
invalid input marked aria-invalid and described by its error message, and every error tied to its
field or group. Rules whose forms have nothing to fill (a button, hidden fields) are named with the
check that they have nothing to fill. The GET filter forms are sent invalid queries the same way.
docs/accessibility.md describes the pattern.
"""

import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import pytest

from tests.conftest import PASSWORD, Auth, csrf_token
from tests.test_fuzz_forms import STAFF_CSV, TARGETS, Seed, SeedValues, Session, post_rules
from training.auth.models import PasswordReset
from training.auth.reset import token_hash
from training.db import utcnow
from training.extensions import db

CSS = Path(__file__).resolve().parent.parent / "training" / "static" / "app.css"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# --- reading a page: a small tree of elements ----------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parent: "Element | None" = None
    children: list["Element"] = field(default_factory=list)
    text: str = ""

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)

    def ids(self, attribute: str) -> list[str]:
        return self.attrs.get(attribute, "").split()


class TreeParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Element("#document", {})

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(element)
        if tag not in VOID:
            self.node = element

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.node))

    def handle_endtag(self, tag):
        for open_element in [self.node, *self.node.ancestors()]:
            if open_element.tag == tag:
                self.node = open_element.parent
                return

    def handle_data(self, data):
        self.node.text += data


class Page:
    def __init__(self, html: str):
        parser = TreeParser()
        parser.feed(html)
        self.html, self.root = html, parser.root
        self.elements = list(self.root.walk())
        self.by_id: dict[str, Element] = {}
        duplicates = set()
        for element in self.elements:
            if "id" in element.attrs:
                if element.attrs["id"] in self.by_id:
                    duplicates.add(element.attrs["id"])
                self.by_id[element.attrs["id"]] = element
        assert not duplicates, f"ids used twice: {duplicates}"

    def find(self, tag: str, **attrs) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    @property
    def title(self) -> str:
        return self.find("title")[0].all_text().strip()

    @property
    def main(self) -> Element:
        (main,) = self.find("main")
        return main

    def error_summary(self) -> Element:
        (alert,) = [e for e in self.elements if e.attrs.get("role") == "alert"]
        return alert


# --- what every form with errors must show --------------------------------------------------------


def tied_to_an_error(page: Page, element: Element) -> bool:
    """Marked invalid and described by an error message, or in a fieldset described by one."""

    def described_by_an_error(node: Element) -> bool:
        messages = [page.by_id[i] for i in node.ids("aria-describedby") if i in page.by_id]
        return any("field-error" in m.attrs.get("class", "").split() for m in messages)

    if element.attrs.get("aria-invalid") == "true" and described_by_an_error(element):
        return True
    return any(node.tag == "fieldset" and described_by_an_error(node) for node in [element, *element.ancestors()])


def assert_errors_announced_and_tied(html: str, error_lists: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The error summary and every invalid field as docs/accessibility.md describes; returns the
    summary's items as (message, link target or ""). `error_lists` are ids the summary may link to
    that head a list of errors rather than a field (an uploaded file's errors by line)."""
    page = Page(html)
    assert page.title.startswith("Error: "), page.title

    summary = page.error_summary()
    box = summary.parent
    assert box is not None and box.attrs.get("class") == "error-summary" and box.attrs.get("tabindex") == "-1"
    assert page.main.children[0] is box, "the error summary is the first thing in main"
    headings = [e for e in summary.walk() if e.tag == "h2"]
    assert [h.all_text().strip() for h in headings] == ["There is a problem"]
    assert summary.attrs.get("aria-labelledby") == headings[0].attrs["id"]

    items = []
    for li in (e for e in summary.walk() if e.tag == "li"):
        links = [e for e in li.walk() if e.tag == "a"]
        target = links[0].attrs["href"].removeprefix("#") if links else ""
        if links:
            assert links[0].attrs["href"].startswith("#"), links[0].attrs
            assert target in page.by_id, f"the summary links to #{target}, which is not on the page"
            tied = target in error_lists or tied_to_an_error(page, page.by_id[target])
            assert tied, f"#{target} is not tied to an error message"
        items.append((li.all_text().strip(), target))
    assert items, "an empty error summary"
    order = {id(e): n for n, e in enumerate(page.elements)}
    positions = [order[id(page.by_id[target])] for _, target in items if target]
    assert positions == sorted(positions), f"the summary is not in the order of the page: {items}"

    for element in page.elements:
        for attribute in ("aria-describedby", "aria-labelledby"):
            missing = [i for i in element.ids(attribute) if i not in page.by_id]
            assert not missing, f"{element.tag} {attribute} names ids not on the page: {missing}"
        if element.attrs.get("aria-invalid") == "true":
            name = f"{element.tag}#{element.attrs.get('id')}"
            assert tied_to_an_error(page, element), f"{name} is invalid but not described by its error"
            assert element.attrs.get("id") in {target for _, target in items}, f"{name} is not in the summary"
    assert_groups_have_legends(page)
    assert_no_positive_tabindex(page)
    return items


def assert_groups_have_legends(page: Page) -> None:
    """Radios, and checkboxes sharing a name, sit in a fieldset whose first child is its legend."""
    for fieldset in page.find("fieldset"):
        assert fieldset.children and fieldset.children[0].tag == "legend", fieldset.attrs
        assert fieldset.children[0].all_text().strip(), f"an empty legend in {fieldset.attrs}"
    choices = [e for e in page.elements if e.tag == "input" and e.attrs.get("type") in ("radio", "checkbox")]
    names = [e.attrs.get("name") for e in choices]
    for element in choices:
        if element.attrs.get("type") == "radio" or names.count(element.attrs.get("name")) > 1:
            assert any(a.tag == "fieldset" for a in element.ancestors()), f"{element.attrs} is not in a fieldset"


def assert_no_positive_tabindex(page: Page) -> None:
    values = [e.attrs["tabindex"] for e in page.elements if "tabindex" in e.attrs]
    assert all(int(value) <= 0 for value in values), values


# --- every POST rule ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invalid:
    """Changes to the page's valid form that make it invalid: values by field name (a list of
    several, or [] to leave the field out); `drop` leaves out every field whose name starts so.
    Names may use the fuzzer's Seed attributes ({department})."""

    changes: dict = field(default_factory=dict)
    drop: str = ""


INVALID = {
    "/login": Invalid({"email": ""}),
    "/password/forgot": Invalid({"email": ""}),
    "/account/password": Invalid({"new_password": "short", "confirm": "different"}),
    "/account/sessions/end-others": Invalid({"password": ""}),
    "/account/sessions/<int:session_id>/end": Invalid({"password": ""}),
    "/account/two-step/setup": Invalid({"code": "", "password": ""}),
    "/attempts/<int:attempt_id>": Invalid(drop="q-"),
    "/certificates/<serial>/revoke": Invalid({"reason": ""}),
    "/verify/<serial>": Invalid({"pdf": [], "sha256": "not a digest"}),
    "/compliance/people/<int:user_id>/allowances": Invalid({"extra_attempts": "0", "reason": ""}),
    "/compliance/requirements": Invalid({"item": "", "due_within_days": "-1"}),
    "/compliance/packet": Invalid({"scope": "everyone", "date_from": "2024-13-01"}),
    "/policies/<slug>/attest": Invalid({"agree": []}),
    "/policies/manage/new": Invalid({"title": "", "body": ""}),
    "/policies/manage/<slug>/publish": Invalid({"change_summary": "", "min_reading_seconds": "-1"}),
    "/policies/manage/<slug>/courses": Invalid({"course": "999999"}),
    "/settings/api-tokens": Invalid({"name": ""}),
    "/settings/scim-tokens": Invalid({"name": ""}),
    "/staff/new": Invalid({"name": "", "employee_id": "x" * 65, "hire_date": "2024-02-30"}),
    "/staff/<int:user_id>/edit": Invalid({"email": "", "hire_date": "2024-02-30"}),
    "/staff/departments": Invalid({"name": ""}),
    "/staff/departments/<int:department_id>/rename": Invalid({"d{department}-name": ""}),
    "/staff/import": Invalid({"file": []}),
    "/authoring/courses/new": Invalid({"title": "", "pass_mark": "abc"}),
    "/authoring/courses/<slug>/settings": Invalid({"pass_mark": "101", "questions_per_attempt": ""}),
    "/authoring/courses/<slug>/modules/new": Invalid({"title": "", "body": ""}),
    "/authoring/modules/<int:module_id>/edit": Invalid({"title": ""}),
    "/authoring/courses/<slug>/questions/new": Invalid(
        {"prompt": "", "options-0-correct": [], "options-1-text": "", "options-1-feedback": ""}
    ),
    "/authoring/questions/<int:question_id>/edit": Invalid({"explanation": "", "options-0-feedback": ""}),
    "/authoring/questions/<int:question_id>/preview": Invalid({"choice": []}),
    "/authoring/courses/<slug>/import": Invalid({"file": []}),
}

# Forms shown only in a state that needs setting up (a pending sign-in, a reset link, two-step
# sign-in on); each has a test of its own below.
OWN_TESTS = {
    "/login/two-step",
    "/login/recovery",
    "/password/reset",
    "/account/two-step/recovery-codes",
    "/account/two-step/disable",
}

# Forms with nothing to fill in: a button, maybe with hidden fields. test_nothing_to_fill checks it.
NOTHING_TO_FILL = sorted(set(TARGETS) - set(INVALID) - OWN_TESTS)


def test_every_post_rule_is_covered(app):
    assert set(INVALID) | set(NOTHING_TO_FILL) | OWN_TESTS == post_rules(app)
    assert not set(INVALID) & OWN_TESTS


def invalid_form(session: Session, invalid: Invalid) -> dict[str, list]:
    """The page's valid form with the changes: the values of each field, uploads as (file, name)."""
    values = SeedValues(session.seed)
    changes = {name.format_map(values): value for name, value in invalid.changes.items()}
    unknown = set(changes) - set(session.fields)
    assert not unknown, f"no such fields on the form: {unknown}"
    form = {
        name: items for name, items in session.baseline.items() if not (invalid.drop and name.startswith(invalid.drop))
    }
    form |= {name: value if isinstance(value, list) else [value] for name, value in changes.items()}
    form["csrf_token"] = [session.token]
    return {
        name: [(io.BytesIO(v[1]), v[0]) if isinstance(v, tuple) else v for v in items] for name, items in form.items()
    }


def post_invalid(app, make_user, course, rule: str):
    session = Session(app, Seed(app, make_user, course), TARGETS[rule], rule)
    return session.client.post(session.url, data=invalid_form(session, INVALID[rule]))


@pytest.mark.parametrize("rule", sorted(INVALID))
def test_invalid_input_is_announced_and_tied_to_its_fields(app, make_user, course, rule):
    response = post_invalid(app, make_user, course, rule)
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html, f"{rule} answered {response.status_code} without an error summary"
    assert_errors_announced_and_tied(html)


@pytest.mark.parametrize("rule", NOTHING_TO_FILL)
def test_nothing_to_fill(app, make_user, course, rule):
    """The forms left out above have no field a person fills in: only buttons and hidden fields."""
    session = Session(app, Seed(app, make_user, course), TARGETS[rule], rule)
    kinds = {item.kind for item in session.fields.values()}
    assert kinds <= {"hidden", "submit"}, f"{rule} has fields to fill: {kinds}"


def test_the_sign_in_failure_is_in_the_summary_once_without_a_field(client, make_user):
    user = make_user()
    response = Auth(client).login(user.email, "not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert assert_errors_announced_and_tied(html) == [("Email or password is incorrect.", "")]
    assert html.count("Email or password is incorrect.") == 1
    assert 'aria-invalid="true"' not in html


def test_an_unanswered_question_is_tied_to_its_fieldset(app, make_user, course):
    response = post_invalid(app, make_user, course, "/attempts/<int:attempt_id>")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    items = assert_errors_announced_and_tied(html)
    page = Page(html)
    questions = [s for s in page.find("section") if "question" in s.attrs.get("class", "").split()]
    assert len(items) == len(questions) == 3
    for number, (question, (message, target)) in enumerate(zip(questions, items, strict=True), start=1):
        assert message == f"Choose an answer for question {number}."
        heading = next(e for e in question.walk() if e.tag == "h2")
        assert heading.all_text().strip() == f"Question {number} of 3"
        fieldset = next(e for e in question.walk() if e.tag == "fieldset")
        legend = next(e for e in fieldset.walk() if e.tag == "legend")
        assert legend.all_text().startswith("What should you do in"), "the legend asks the question"
        errors = [page.by_id[i] for i in fieldset.ids("aria-describedby") if i.endswith("-error")]
        assert [e.all_text() for e in errors] == [message]
        options = [e for e in fieldset.walk() if e.tag == "input" and e.attrs.get("type") in ("radio", "checkbox")]
        assert target == options[0].attrs["id"], "the summary links to the question's first option"


def test_a_radio_group_error_is_tied_to_its_fieldset(app, make_user, course):
    response = post_invalid(app, make_user, course, "/compliance/packet")
    html = response.get_data(as_text=True)
    items = dict((target, message) for message, target in assert_errors_announced_and_tied(html))
    page = Page(html)
    (group,) = [f for f in page.find("fieldset") if f.attrs.get("id") == "scope"]
    assert next(e for e in group.walk() if e.tag == "legend").all_text().strip()
    assert group.ids("aria-describedby") == ["scope-error"]
    assert items["scope-0"] == page.by_id["scope-error"].all_text()


def test_a_file_with_errors_is_in_the_summary(app, make_user, course):
    admin = make_user(role="admin")
    client = app.test_client()
    Auth(client).login(admin)
    bad = STAFF_CSV.splitlines(keepends=True)[0] + b"F101,Bad Date,bad.date@example.org,,Nurse,2020-13-06,\n"
    data = {"file": (io.BytesIO(bad), "staff.csv"), "csrf_token": csrf_token(client, "/staff/import")}
    response = client.post("/staff/import", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    items = assert_errors_announced_and_tied(html, error_lists=("errors-heading",))
    assert items == [
        ("The file has 1 error, listed under Errors: correct it and upload the file again.", "errors-heading")
    ]
    assert Page(html).by_id["errors-heading"].all_text() == "Errors (1)"


def test_a_stale_question_edit_is_a_form_level_error(app, make_user, course):
    rule = "/authoring/questions/<int:question_id>/edit"
    session = Session(app, Seed(app, make_user, course), TARGETS[rule], rule)
    form = invalid_form(session, Invalid())
    assert session.client.post(session.url, data=form | {"prompt": ["A first edit?"]}).status_code == 302
    stale = session.client.post(session.url, data=form | {"prompt": ["A second edit?"]})
    assert stale.status_code == 409
    ((message, target),) = assert_errors_announced_and_tied(stale.get_data(as_text=True))
    assert message.startswith("Someone saved version 2") and target == ""


# --- the GET filter forms -------------------------------------------------------------------------

FILTERS = {
    "/audit?date_from=2024-13-01": "admin",
    "/certificates?issued_from=2024-02-30": "admin",
    "/compliance/people?status=nonsense": "admin",
    "/reminders?days=-5": "admin",
    "/staff?q=" + "x" * 201: "admin",
    "/authoring/courses/test-course/questions?q=" + "x" * 201: "admin",
    "/authoring/courses/test-course/statistics?department=nonsense": "admin",
    "/verify?serial=nonsense": None,
}


@pytest.mark.parametrize("url", sorted(FILTERS))
def test_invalid_filters_are_announced_and_tied(app, make_user, course, url):
    client = app.test_client()
    if FILTERS[url]:
        Auth(client).login(make_user(role=FILTERS[url]))
    response = client.get(url)
    assert 400 <= response.status_code < 500, response.status_code
    assert_errors_announced_and_tied(response.get_data(as_text=True))


# --- forms that need a pending sign-in, a reset link or two-step sign-in on -----------------------


def turn_on_two_step(client) -> str:
    """Set up two-step sign-in for the signed-in user as a person does; returns the secret."""
    html = client.get("/account/two-step/setup").get_data(as_text=True)
    secret = re.search(r'id="secret-key">([A-Z2-7 ]+)</p>', html).group(1).replace(" ", "")
    data = {"code": pyotp.TOTP(secret).now(), "password": PASSWORD}
    data["csrf_token"] = csrf_token(client, "/account/two-step/setup")
    assert client.post("/account/two-step/setup", data=data).status_code == 200
    return secret


@pytest.fixture
def two_step_user(client, make_user):
    user = make_user()
    Auth(client).login(user)
    turn_on_two_step(client)
    return user


@pytest.mark.parametrize(
    "path, data",
    [
        ("/account/two-step/recovery-codes", {"regenerate-password": ""}),
        ("/account/two-step/disable", {"disable-password": "", "disable-code": ""}),
    ],
)
def test_two_step_settings_errors_are_announced(client, two_step_user, path, data):
    data = data | {"csrf_token": csrf_token(client, "/account/two-step")}
    response = client.post(path, data=data)
    assert response.status_code == 422
    items = assert_errors_announced_and_tied(response.get_data(as_text=True))
    assert {target for _, target in items} == {name for name in data if name != "csrf_token"}


@pytest.mark.parametrize("path", ["/login/two-step", "/login/recovery"])
def test_second_step_errors_are_announced(client, two_step_user, path):
    auth = Auth(client)
    auth.logout()
    assert auth.login(two_step_user).headers["Location"] == "/login/two-step"
    response = client.post(path, data={"code": "", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 422
    assert assert_errors_announced_and_tied(response.get_data(as_text=True))[0][1] == "code"


def test_reset_password_errors_are_announced(app, client, make_user):
    user = make_user()
    token = "a-test-reset-token"
    with app.app_context():
        now = utcnow()
        db.session.add(
            PasswordReset(
                token_hash=token_hash(token), user_id=user.id, expires_at=now + timedelta(minutes=30), created_at=now
            )
        )
        db.session.commit()
    assert client.get(f"/password/reset/{token}").status_code == 302
    data = {"password": "", "confirm": "other", "csrf_token": csrf_token(client, "/password/reset")}
    response = client.post("/password/reset", data=data)
    assert response.status_code == 422
    items = assert_errors_announced_and_tied(response.get_data(as_text=True))
    assert [target for _, target in items] == ["password", "confirm"]


# --- focus ----------------------------------------------------------------------------------------


def css_rules(text: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule, inside @media blocks too; comments removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return [(s.strip(), d.strip()) for s, d in re.findall(r"([^{}@;]+)\{([^{}]*)\}", text)]


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_is_visible_and_never_removed_without_a_replacement():
    rules = css_rules(CSS.read_text())
    focus = [d for s, d in rules if s == ":focus-visible"]
    assert focus, "no :focus-visible rule"
    width = re.search(r"outline:\s*(\d+)px solid", focus[-1])
    assert width and int(width.group(1)) >= 2, focus[-1]
    for selector, declarations in rules:
        if re.search(r"outline(-style|-width)?\s*:\s*(none|0)\b", declarations):
            assert all(":not(:focus-visible)" in part for part in selector.split(",")), (
                f"{selector} removes the outline without a replacement"
            )
    skip = " ".join(d for s, d in rules if ".skip-link:focus" in s)
    assert "left:" in skip and "top:" in skip, "the skip link comes into view on focus"


def test_the_focus_ring_contrasts_3_to_1_with_every_background():
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text()))
    for background in ("bg", "card", "bad-bg", "ok-bg", "warn-bg", "focus"):
        assert contrast(colours["focus-ring"], colours[background]) >= 3, background
    assert contrast(colours["focus"], colours["brand"]) >= 3, "the header's yellow ring on its blue"
    assert contrast(colours["focus"], colours["brand-dark"]) >= 3


def test_no_template_uses_a_positive_tabindex():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match}"
        for path in TEMPLATES.rglob("*.html")
        for match in re.findall(r"tabindex=\"?\s*([^\"\s>]+)", path.read_text())
        if not match.startswith(("-", "0", "{"))
    ]
    assert not found, found


def test_the_skip_link_moves_focus_to_main(client):
    page = Page(client.get("/login").get_data(as_text=True))
    first_link = next(e for e in page.elements if e.tag == "a")
    assert first_link.attrs == {"class": "skip-link", "href": "#main"}
    assert page.main.attrs.get("id") == "main" and page.main.attrs.get("tabindex") == "-1"
    assert_no_positive_tabindex(page)
