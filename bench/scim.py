"""Throughput of SCIM provisioning: users created and patched per second through /scim/v2, against a bare GET.

Run from the project root; it needs no settings in the environment (the app's are stated in
bench/common.py, and the SCIM rate limit is lifted for the run):

    .venv/bin/python bench/scim.py             # 1,000 users on SQLite
    .venv/bin/python bench/scim.py --users 200 # a smoke check
    .venv/bin/python bench/scim.py --tiny      # 20 users: seconds (tests)

It only prints figures. Every timed response is checked (201 for a create, 200 for a PATCH and the
GET, SCIM's content type); a wrong one stops the run with exit status 1 and the reason.

A fresh SQLite database in a temporary folder gets one admin, who makes a SCIM token. Then, through the
Flask test client, as an identity provider would call: `GET /scim/v2/ServiceProviderConfig` (the
baseline: a token check and a small document), `POST /scim/v2/Users` for each user (Okta's create body,
with the enterprise extension's employee number), and one Entra-style PATCH per user (title and family
name replaced). Each figure is users (requests) per second over the whole phase.
"""

import sys
import tempfile
import time
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from bench.common import NotThePage, argument_parser, bench_app, sqlite_file, stop_on_wrong_page  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.extensions import db  # noqa: E402
from training.scim import tokens  # noqa: E402

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def new_user(n: int) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": f"user{n}@bench.example.org",
        "name": {"givenName": "Bench", "familyName": f"User {n}"},
        "emails": [{"primary": True, "value": f"user{n}@bench.example.org", "type": "work"}],
        "displayName": f"Bench User {n}",
        "externalId": f"ext-{n}",
        "active": True,
        ENTERPRISE: {"employeeNumber": f"B{n:06d}"},
    }


def a_patch(n: int) -> dict:
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "Staff Nurse"},
            {"op": "Replace", "path": "name.familyName", "value": f"Patched {n}"},
        ],
    }


def checked(what: str, response, status: int):
    if response.status_code != status or response.mimetype != SCIM_JSON:
        raise NotThePage(f"{what}: HTTP {response.status_code} {response.mimetype}, not {status} {SCIM_JSON}")
    return response


def per_second(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def run(users: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = {"SCIM_RATE_LIMIT": "1000000 per minute", "PASSWORD_HASHING_FOR_TESTS_ONLY": True}
        app = bench_app(sqlite_file(Path(folder)), Path(folder), settings)
        with app.app_context():
            db.create_all()
            admin = create_user("admin@bench.example.org", "Bench Admin", "a long bench password", role="admin")
            secret = tokens.create_token(admin, "Benchmark").secret
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        def call(method: str, path: str, body=None):
            return client.open(f"/scim/v2{path}", method=method, json=body, headers=headers)

        started = time.perf_counter()
        for _ in range(users):
            checked("GET /ServiceProviderConfig", call("GET", "/ServiceProviderConfig"), 200)
        bare = per_second(users, started)
        started = time.perf_counter()
        ids = [checked("POST /Users", call("POST", "/Users", new_user(n)), 201).json["id"] for n in range(users)]
        created = per_second(users, started)
        started = time.perf_counter()
        for n, user_id in enumerate(ids):
            checked("PATCH /Users", call("PATCH", f"/Users/{user_id}", a_patch(n)), 200)
        patched = per_second(users, started)
    print(f"SQLite (temporary file), {users:,} users through /scim/v2 with the Flask test client:")
    print(f"  bare GET /ServiceProviderConfig  {bare:10,.1f} requests/s (1.0x)")
    print(f"  POST /Users (create)             {created:10,.1f} users/s    ({created / bare:.2f}x bare)")
    print(f"  PATCH /Users/<id> (Entra-style)  {patched:10,.1f} users/s    ({patched / bare:.2f}x bare)")


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--users", type=int, default=1000, help="users to create and patch (default 1,000)")
    parser.add_argument("--tiny", action="store_true", help="20 users: the test suite's smoke run")
    arguments = parser.parse_args()
    with stop_on_wrong_page():
        run(20 if arguments.tiny else arguments.users)


if __name__ == "__main__":
    main()
