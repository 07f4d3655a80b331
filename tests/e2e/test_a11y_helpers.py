"""The accessibility helpers themselves: each catches a real problem and says where it is."""

import pytest

from tests.e2e.browser import PageChecker, layout_problems, tab_to


def test_check_page_names_the_rule_the_page_and_the_node(page, live_server):
    page.goto("/login")
    page.evaluate("""() => {
        const faint = document.createElement('p');
        faint.id = 'faint';
        faint.textContent = 'Grey on white is hard to read';
        faint.style.color = '#c8c8c8';
        document.querySelector('main').append(faint);
    }""")
    with pytest.raises(AssertionError) as failure:
        PageChecker("meta", None)(page, "sign-in")
    message = str(failure.value)
    assert "color-contrast (serious) on meta/sign-in at 375px" in message
    assert "color-contrast (serious) on meta/sign-in at 1280px" in message
    assert "#faint" in message and "contrast of 1.55" in message and f"{live_server}/login" in message


@pytest.mark.parametrize(
    ("outline", "problem"),
    [("none", "no visible focus on <input> 'email'"), ("3px solid #ffbf47", "focus indicator contrast 1.6")],
)
def test_a_missing_or_faint_focus_indicator_is_caught(page, live_server, outline, problem):
    page.goto("/login")
    page.evaluate(
        """outline => {
            const email = document.querySelector('#email');
            email.style.outline = outline;
            email.style.boxShadow = 'none';
        }""",
        outline,
    )
    with pytest.raises(AssertionError, match=problem):
        tab_to(page, "#email")
    assert page.evaluate("document.activeElement.id") == "email"


def test_the_layout_checks_catch_a_cut_drop_down_and_uneven_controls(page, live_server):
    page.goto("/login")
    page.evaluate("""() => {
        const form = document.createElement('form');
        form.innerHTML = '<div><select id="cut"><option>Any course or policy at all</option></select></div>'
            + '<input type="text" id="short">';
        document.querySelector('main').append(form);
        form.querySelector('div').style.width = '8rem';  // styles set from script: the page's CSP refuses style=""
        Object.assign(form.querySelector('#short').style, {minHeight: '0', height: '30px'});
    }""")

    problems = layout_problems(page, 1280)

    assert any(p.startswith("<select#cut> is ") and "its longest option needs" in p for p in problems), problems
    assert any("controls of one form at different heights" in p and "<input#short> 30px" in p for p in problems)
