"""Helpers for the end-to-end tests: accessibility checks with screenshots, focus checks, signing in."""

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.conftest import PASSWORD

WIDTHS = (375, 1280)
HEIGHT = 900
BLOCKING_IMPACTS = {"serious", "critical"}
_axe = Axe()

# The focused element's focus indicator: its outline (or box shadow), and the contrast of the
# indicator's colour with the background just outside the element (WCAG 1.4.11 asks 3:1): the
# background of whatever is drawn 4 px to its left (or right), so positioned elements count too.
_FOCUS_STYLE = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const rgb = (text) => (text.match(/rgba?\(([^)]+)\)/) || [null, '0, 0, 0, 0'])[1].split(',').map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const box = el.getBoundingClientRect();
  const x = box.left >= 4 ? box.left - 4 : box.right + 4;
  const around = document.elementsFromPoint(x, box.top + box.height / 2).find((n) => n !== el && !el.contains(n));
  let behind = [255, 255, 255];
  for (let node = around || el.parentElement; node; node = node.parentElement) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length < 4 || colour[3] > 0) { behind = colour; break; }
  }
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none';
  const indicator = rgb(outline ? style.outlineColor : style.boxShadow);
  const [light, dark] = [luminance(indicator), luminance(behind)].sort((a, b) => b - a);
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.value || el.getAttribute('aria-label') || el.id || '').trim().slice(0, 60),
    outline,
    shadow,
    contrast: Math.round((light + 0.05) / (dark + 0.05) * 100) / 100,
    description: `outline ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}, `
      + `box-shadow ${style.boxShadow}, background behind rgb(${behind.slice(0, 3).join(', ')})`,
  };
}"""
MIN_FOCUS_CONTRAST = 3


class PageChecker:
    """`check_page(page, name)` for one journey: runs axe-core on the page at each width, fails on
    any serious or critical violation with the rule, the page and the nodes, and writes a full-page
    screenshot `<journey>-<nn>-<name>-<width>.png` into `screenshot_dir` (None: no screenshots)."""

    def __init__(self, journey: str, screenshot_dir: Path | None):
        self.journey = journey
        self.screenshot_dir = screenshot_dir
        self.pages = 0

    def __call__(self, page: Page, name: str, *, screenshot: bool = True) -> None:
        if screenshot:
            self.pages += 1
        problems = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            problems += [describe(v, f"{self.journey}/{name}", width, page.url) for v in blocking_violations(page)]
            if screenshot and self.screenshot_dir is not None:
                self.screenshot_dir.mkdir(parents=True, exist_ok=True)
                path = self.screenshot_dir / f"{self.journey}-{self.pages:02d}-{name}-{width}.png"
                page.screenshot(path=path, full_page=True)
        assert not problems, "axe-core found serious or critical violations:\n" + "\n".join(problems)


def blocking_violations(page: Page) -> list[dict]:
    violations = _axe.run(page).response["violations"]
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe(violation: dict, page_name: str, width: int, url: str) -> str:
    """A violation as text a person can act on: rule, impact, page, width, then each node."""
    lines = [f"- {violation['id']} ({violation['impact']}) on {page_name} at {width}px ({url}): {violation['help']}"]
    for node in violation["nodes"]:
        summary = " ".join(node.get("failureSummary", "").split())
        lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}\n      {summary}")
    return "\n".join(lines)


def sign_in(page: Page, email: str, check_page=None, *, password: str = PASSWORD, screenshot: bool = True) -> None:
    """Sign in through the form; `check_page` (when given) checks the sign-in page first."""
    page.goto("/login")
    if check_page is not None:
        check_page(page, "sign-in", screenshot=screenshot)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def attempt_id(page: Page) -> int:
    """The quiz attempt on screen, from the address of its page."""
    return int(re.search(r"/attempts/(\d+)$", page.url).group(1))


def choose_answers(page: Page, answers: dict[str, list[str]]) -> None:
    """Tick the given options: `answers` maps a question's field name to the option ids chosen."""
    for field, option_ids in answers.items():
        for option_id in option_ids:
            page.locator(f"#{field}-{option_id}").check()


def focus_style(page: Page) -> dict | None:
    return page.evaluate(_FOCUS_STYLE)


def assert_focus_visible(page: Page) -> dict:
    """The focused element shows a focus indicator (outline or box shadow) that stands out 3:1 from
    the background around it; returns its description."""
    focused = focus_style(page)
    assert focused is not None, f"nothing has the keyboard focus on {page.url}"
    where = f"<{focused['tag']}> {focused['text']!r} at {page.url}: {focused['description']}"
    assert focused["outline"] or focused["shadow"], f"no visible focus on {where}"
    assert focused["contrast"] >= MIN_FOCUS_CONTRAST, f"focus indicator contrast {focused['contrast']}:1 on {where}"
    return focused


def tab_to(page: Page, selector: str, *, key: str = "Tab", limit: int = 60) -> None:
    """Press Tab (or `key`) until the element matching `selector` has the focus, checking that every
    element the focus passes through shows it."""
    for _ in range(limit):
        page.keyboard.press(key)
        assert_focus_visible(page)
        if page.evaluate("sel => document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"{selector} not reached with {limit} presses of {key} on {page.url}")
