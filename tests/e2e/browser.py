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

# What a person would see as broken in a page's tables and forms at the width on screen (issue 21): a
# drop-down narrower than its longest option while its form has room; text boxes, drop-downs and buttons of
# one form at different heights; from 641 px up, an email or network address broken over two lines, or a
# table (other than the people matrix, which scrolls by design) wider than its box at 1280 px.
_LAYOUT_PROBLEMS = r"""(width) => {
  const problems = [];
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const name = (el) => `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.name ? ' name=' + el.name : ''}>`;
  const px = (value) => parseFloat(value) || 0;
  const ruler = document.createElement('canvas').getContext('2d');
  const ARROW = 16;  // the room Chromium keeps for the arrow, at least
  for (const select of document.querySelectorAll('main select')) {
    if (!shown(select)) continue;
    const style = getComputedStyle(select);
    ruler.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const longest = Math.max(0, ...[...select.options].map((o) => ruler.measureText(o.text).width));
    const room = select.clientWidth - px(style.paddingLeft) - px(style.paddingRight) - ARROW;
    const holder = select.closest('form') || select.parentElement;
    const holderStyle = getComputedStyle(holder);
    const space = holder.clientWidth - px(holderStyle.paddingLeft) - px(holderStyle.paddingRight);
    if (longest > room + 2 && select.offsetWidth < space - 1) {
      const needed = Math.ceil(longest + ARROW);
      problems.push(`${name(select)} is ${select.offsetWidth}px wide, its longest option needs ${needed}px`);
    }
  }
  const BOXES = 'input:not([type="checkbox"], [type="radio"], [type="hidden"], [type="file"])';
  const CONTROLS = `${BOXES}, select, .button:not(.small)`;
  for (const form of document.querySelectorAll('main form')) {
    const heights = new Map();
    for (const control of form.querySelectorAll(CONTROLS)) {
      if (shown(control)) heights.set(Math.round(control.getBoundingClientRect().height), name(control));
    }
    if (heights.size > 1) {
      const listed = [...heights].map(([h, n]) => `${n} ${h}px`).join(', ');
      problems.push(`controls of one form at different heights: ${listed}`);
    }
  }
  if (width > 640) {
    for (const cell of document.querySelectorAll('main .email-cell, main .audit-address')) {
      const lines = cell.getBoundingClientRect().height / px(getComputedStyle(cell).lineHeight);
      if (shown(cell) && lines >= 1.5) {
        problems.push(`"${cell.textContent.trim()}" broken over ${Math.round(lines)} lines`);
      }
    }
  }
  if (width >= 1280) {
    for (const box of document.querySelectorAll('main .table-wrap')) {
      if (shown(box) && !box.querySelector('.matrix') && box.scrollWidth > box.clientWidth + 1) {
        problems.push(`a table ${box.scrollWidth}px wide in a box of ${box.clientWidth}px`);
      }
    }
  }
  return problems;
}"""


class PageChecker:
    """`check_page(page, name)` for one journey: runs axe-core and the layout checks on the page at each width,
    fails on any serious or critical violation (with the rule, the page and the nodes) or layout problem, and
    writes a full-page
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
            where = f"{self.journey}/{name} at {width}px ({page.url})"
            problems += [f"- layout on {where}: {problem}" for problem in layout_problems(page, width)]
            if screenshot and self.screenshot_dir is not None:
                self.screenshot_dir.mkdir(parents=True, exist_ok=True)
                path = self.screenshot_dir / f"{self.journey}-{self.pages:02d}-{name}-{width}.png"
                page.screenshot(path=path, full_page=True)
        assert not problems, "axe-core or the layout checks found problems:\n" + "\n".join(problems)


def layout_problems(page: Page, width: int) -> list[str]:
    """Cut drop-downs, uneven form controls, broken addresses and tables wider than their box (see above)."""
    return page.evaluate(_LAYOUT_PROBLEMS, width)


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
