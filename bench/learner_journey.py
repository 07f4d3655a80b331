"""Usability measure of the learner's journey: screens and actions from sign-in to the certificate, on a phone.

Run from the project root (Chromium at /usr/bin/chromium or on the PATH); it needs no settings:

    .venv/bin/python bench/learner_journey.py                     # 375 x 667, JavaScript on
    .venv/bin/python bench/learner_journey.py --no-js             # the same without JavaScript
    .venv/bin/python bench/learner_journey.py --width 1280 --height 900

It counts, it does not time. A fresh SQLite database in a temporary folder gets the shipped courses and one
learner, the app is served on a free port of 127.0.0.1, and Chromium walks the way a nurse would: sign in, open
the course, read each module and mark it complete, take the quiz (answered correctly, as the answer key says),
submit it and download the certificate by the quickest visible way (from the result page if it offers the
certificate, else through My training). Each action reaches its control as a person does: scrolling down just
far enough to see it whole.

- **actions**: taps (links, buttons, answers) plus one per text field filled; **answers**: of them, the taps on
  quiz answers, which depend on the questions drawn (a "select all that apply" question takes several);
- **scrolled**: per view (a page, or a question when the quiz shows one at a time), the distance scrolled from
  where the view started to the furthest point reached, in viewport heights;
- **screens**: 1 + scrolled per view: what the learner looks at, the first screen of each view included.

The figures are summed over the journey and over its part from the quiz to the certificate.
"""

import argparse
import logging
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from shutil import which

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from playwright.sync_api import Locator, Page, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench.common import bench_app, sqlite_file  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.config import PROJECT_ROOT  # noqa: E402
from training.content.loader import load_content  # noqa: E402
from training.content.sync import sync_content  # noqa: E402
from training.extensions import db  # noqa: E402
from training.quizzes.attempts import gradable  # noqa: E402
from training.quizzes.models import QuizAttempt  # noqa: E402

EMAIL, PASSWORD = "nurse@journey.example", "a long journey password 2026"
COURSE = "hipaa-social-media"
MARGIN = 8  # pixels a person leaves below a control they scroll to


@dataclass
class View:
    name: str
    start: float
    furthest: float
    actions: int = 0
    answers: int = 0  # of the actions, taps on a quiz answer

    def scrolled(self, height: int) -> float:
        return (self.furthest - self.start) / height

    def screens(self, height: int) -> float:
        return 1 + self.scrolled(height)


class Walk:
    """Counts actions and scrolling per view while Chromium walks the journey."""

    def __init__(self, page: Page, height: int):
        self.page, self.height = page, height
        self.views: list[View] = []

    def view(self, name: str) -> None:
        y = self._scroll_y()
        self.views.append(View(name, y, y))

    def _scroll_y(self) -> float:
        return self.page.evaluate("window.scrollY")

    def reach(self, control: Locator) -> None:
        """Scroll as a person would: down (or up) just far enough to see the control whole."""
        top, bottom = control.evaluate(
            "e => { const r = e.getBoundingClientRect(); return [r.top + scrollY, r.bottom + scrollY]; }"
        )
        y = self._scroll_y()
        if bottom > y + self.height:
            y = bottom - self.height + MARGIN
        elif top < y:
            y = top - MARGIN
        self.page.evaluate("y => window.scrollTo(0, y)", y)
        current = self.views[-1]
        current.furthest = max(current.furthest, self._scroll_y())

    def tap(self, control: Locator, leads_to: str | None = None, *, answer: bool = False) -> None:
        self.reach(control)
        control.click()
        self.views[-1].actions += 1
        self.views[-1].answers += answer
        if leads_to:
            self.page.wait_for_load_state()
            self.view(leads_to)

    def fill(self, control: Locator, text: str) -> None:
        self.reach(control)
        control.fill(text)
        self.views[-1].actions += 1


def correct_answers(app, attempt_id: int) -> dict[str, list[str]]:
    """The answer key of the attempt: field name -> the option ids to tick."""
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        return {f"q-{q.id}": [str(i) for i in sorted(q.correct_option_ids)] for q in gradable(attempt)}


def walk_the_journey(app, walk: Walk) -> None:
    page = walk.page
    page.goto("/login")
    walk.view("sign-in")
    walk.fill(page.get_by_label("Email"), EMAIL)
    walk.fill(page.get_by_label("Password", exact=True), PASSWORD)
    walk.tap(page.get_by_role("button", name="Sign in"), "my-training")
    walk.tap(page.get_by_role("main").get_by_role("link", name=re.compile("Patient Confidentiality")).first, "course")
    walk.tap(page.get_by_role("region", name="Modules").get_by_role("link").first, "module 1")
    for number in range(2, 8):
        next_view = f"module {number}" if number < 7 else "course"
        walk.tap(page.get_by_role("button", name="Mark module complete"), next_view)
    walk.tap(page.get_by_role("button", name="Start the quiz"), "quiz")
    take_the_quiz(app, walk)
    get_the_certificate(walk)


def take_the_quiz(app, walk: Walk) -> None:
    page = walk.page
    answers = correct_answers(app, int(re.search(r"/attempts/(\d+)$", page.url).group(1)))
    next_button = page.get_by_role("button", name="Next question")
    for number, question in enumerate(page.locator("section.question, fieldset.question").all(), start=1):
        for field, option_ids in answers.items():
            for option_id in option_ids:
                option = question.locator(f"#{field}-{option_id}")
                if option.count():
                    walk.tap(option, answer=True)
        if next_button.count() and next_button.is_visible():
            walk.tap(next_button, f"question {number + 1}")
    walk.tap(page.get_by_role("button", name="Submit answers"), "result")


def get_the_certificate(walk: Walk) -> None:
    page = walk.page
    on_result = page.get_by_role("link", name="Download certificate (PDF)")
    if not on_result.count():
        walk.tap(page.get_by_role("navigation", name="Main").get_by_role("link", name="My training"), "my-training")
    link = on_result if on_result.count() else page.get_by_role("link", name=re.compile("^Download certificate")).first
    with page.expect_download() as download:
        walk.tap(link)
    if not download.value.suggested_filename.endswith(".pdf"):
        raise SystemExit(f"the download is not a certificate: {download.value.suggested_filename}")


def serve(app) -> tuple[str, object]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request among the figures
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="journey-server", daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def prepare(folder: Path):
    app = bench_app(sqlite_file(folder), folder)
    with app.app_context():
        db.create_all()
        sync_content(load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "quizzes", root=PROJECT_ROOT))
        create_user(EMAIL, "Jo Journey", PASSWORD)
    return app


def report(walk: Walk, arguments) -> None:
    print(f"Learner journey at {arguments.width} x {arguments.height}, JavaScript {'off' if arguments.no_js else 'on'}")
    print(f"{'view':<14} {'scrolled':>8} {'screens':>8} {'actions':>8} {'answers':>8}")
    for view in walk.views:
        scrolled, screens = view.scrolled(walk.height), view.screens(walk.height)
        print(f"{view.name:<14} {scrolled:>8.1f} {screens:>8.1f} {view.actions:>8} {view.answers:>8}")
    quiz = next(i for i, v in enumerate(walk.views) if v.name == "quiz")
    for label, views in (("quiz to PDF", walk.views[quiz:]), ("total", walk.views)):
        scrolled = sum(v.scrolled(walk.height) for v in views)
        screens, actions = sum(v.screens(walk.height) for v in views), sum(v.actions for v in views)
        answers = sum(v.answers for v in views)
        print(f"{label:<14} {scrolled:>8.1f} {screens:>8.1f} {actions:>8} {answers:>8}   ({len(views)} views)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=375)
    parser.add_argument("--height", type=int, default=667)
    parser.add_argument("--no-js", action="store_true", help="JavaScript off in the browser")
    arguments = parser.parse_args(argv)
    chromium = which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="learner-journey-") as folder:
        app = prepare(Path(folder))
        base_url, server = serve(app)
        app.config["PUBLIC_BASE_URL"] = base_url
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
                context = browser.new_context(
                    base_url=base_url,
                    viewport={"width": arguments.width, "height": arguments.height},
                    java_script_enabled=not arguments.no_js,
                    accept_downloads=True,
                )
                walk = Walk(context.new_page(), arguments.height)
                walk_the_journey(app, walk)
                browser.close()
        finally:
            server.shutdown()
    report(walk, arguments)


if __name__ == "__main__":
    main()
