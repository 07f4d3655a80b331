"""Benchmark of a complete OpenID Connect sign-in through a real provider against the password sign-in.

Run from the project root after `make peers` (it starts panva's oidc-provider from tests/peers/oidc on
a free loopback port, as the tests do; Node.js is needed); it needs no settings in the environment:

    .venv/bin/python bench/sso.py               # 30 sign-ins of each kind
    .venv/bin/python bench/sso.py --tiny        # 3 of each: seconds (tests)

It only prints figures. A sign-in that does not end on My training stops the run with exit status 1.

SQLite in a new temporary folder, one person with an employee id the provider's test person carries.
Timed, alternately, each with a new browser (Flask test client, and `requests` at the provider):
- the password sign-in: GET /login and POST the form (argon2id with the production parameters);
- the OpenID Connect round trip: GET /sso/oidc/login, the provider's authorization endpoint and its
  sign-in page filled in, then our callback (code exchange with PKCE, ID token checks, userinfo,
  our session); "callback" is that last request alone, the part our server spends.
"Landing" (GET / after either) is not timed. Figures are medians in milliseconds.
"""

import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from bench.common import (  # noqa: E402
    NotThePage,
    bench_app,
    html_page,
    sign_in_arguments,
    signed_in_client,
    sqlite_file,
    stop_on_wrong_page,
    timed_get,
)
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderBrowser, path_and_query  # noqa: E402
from training.auth.passwords import hash_password  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.extensions import db  # noqa: E402

BASE_URL = "http://127.0.0.1:5000"
PASSWORD = secrets.token_urlsafe(16)  # the password sign-in's account
EMAIL = "nora@bench.example"
MY_TRAINING = html_page("<h1>My training</h1>")


def password_sign_in(app) -> float:
    started = time.perf_counter()
    client = signed_in_client(app, EMAIL, PASSWORD)
    elapsed = time.perf_counter() - started
    timed_get(client, "/", MY_TRAINING)
    return elapsed


def oidc_sign_in(app) -> tuple[float, float]:
    """(the whole round trip, our callback alone), in seconds."""
    client = app.test_client()
    started = time.perf_counter()
    response = client.get("/sso/oidc/login")
    if response.status_code != 302:
        raise NotThePage(f"GET /sso/oidc/login: HTTP {response.status_code}, expected a redirect to the provider")
    callback = ProviderBrowser(f"{BASE_URL}/sso/oidc/callback").sign_in(response.headers["Location"], "a8f2-nurse")
    callback_started = time.perf_counter()
    response = client.get(path_and_query(callback))
    finished = time.perf_counter()
    if response.status_code != 302 or response.headers.get("Location") != "/":
        raise NotThePage(f"the callback: HTTP {response.status_code}, expected 302 to '/'")
    timed_get(client, "/", MY_TRAINING)
    return finished - started, finished - callback_started


def measure(folder: Path, sign_ins: int) -> dict[str, float]:
    provider = OidcProvider([f"{BASE_URL}/sso/oidc/callback"], [f"{BASE_URL}/login"])
    try:
        app = bench_app(
            sqlite_file(folder),
            folder,
            {
                "PUBLIC_BASE_URL": BASE_URL,
                "OIDC_ISSUER": provider.issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            },
        )
        with app.app_context():
            db.create_all()
            person = create_user(EMAIL, "Nora Nurse", PASSWORD, password_hash=hash_password(PASSWORD))
            person.employee_id = "E1001"
            db.session.commit()
        oidc_sign_in(app)  # warm-up: discovery, the provider's keys, compiled templates
        password_sign_in(app)
        times: dict[str, list[float]] = {"password": [], "round trip": [], "callback": []}
        for _ in range(sign_ins):
            times["password"].append(password_sign_in(app))
            round_trip, callback = oidc_sign_in(app)
            times["round trip"].append(round_trip)
            times["callback"].append(callback)
        with app.app_context():
            db.engine.dispose()
    finally:
        provider.stop()
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    arguments = sign_in_arguments(
        __doc__,
        argv,
        count_help="timed sign-ins of each kind (default 30)",
        tiny_help="3 sign-ins of each kind: seconds (tests)",
    )
    with stop_on_wrong_page(), tempfile.TemporaryDirectory(prefix="bench-sso-") as folder:
        medians = measure(Path(folder), arguments.sign_ins)
    password = medians["password"]
    print(f"SQLite (temporary file), oidc-provider on loopback, median of {arguments.sign_ins} sign-ins of each kind:")
    print(f"  password sign-in:          {password:8.1f} ms (  1.0x password)")
    for name in ("round trip", "callback"):
        label = {"round trip": "OpenID Connect round trip", "callback": "  of which our callback"}[name]
        print(f"  {label + ':':<26} {medians[name]:8.1f} ms ({medians[name] / password:5.1f}x password)")


if __name__ == "__main__":
    main()
