"""Benchmark of a SAML 2.0 sign-in round trip through a real IdP: SimpleSAMLphp on loopback.

Run from the project root; it needs no settings in the environment (the app's are stated in
bench/common.py), but Debian's simplesamlphp, php-cli, php-xml, php-mbstring and xmlsec1 (README):

    .venv/bin/python bench/sso_saml.py            # 30 sign-ins
    .venv/bin/python bench/sso_saml.py --tiny     # 3 sign-ins: seconds (tests)

Each sign-in is timed in its three legs, as a browser makes them: `GET /sso/saml/login` (our signed
AuthnRequest, through the Flask test client), the IdP (its redirect, its login form posted with
`requests`, answered with the SAMLResponse form) and `POST /sso/saml/acs` (the response checked with
xmlsec1, the assertion ID stored, our session started). The ACS must answer 302 to My training and
My training must then be the page served, every time; anything else stops the run with exit status 1
and the reason. "ms" is the median over the sign-ins after one warm-up; SQLite in a temporary folder.
"""

import argparse
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
    check_response,
    html_page,
    sign_in_arguments,
    sqlite_file,
    stop_on_wrong_page,
)
from tests.simplesamlphp import SimpleSamlPhp, make_key_pair, sign_in_at_idp  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.extensions import db  # noqa: E402

LEGS = ("GET /sso/saml/login", "IdP (SimpleSAMLphp)", "POST /sso/saml/acs")


def saml_app(folder: Path, idp: SimpleSamlPhp):
    keys = make_key_pair(folder, "sp", "bench SAML signing")
    metadata = folder / "idp-metadata.xml"
    metadata.write_bytes(idp.metadata())
    settings = {
        "SAML_IDP_METADATA": str(metadata),
        "SAML_SP_KEY": str(keys.key),
        "SAML_SP_CERT": str(keys.cert),
        "PUBLIC_BASE_URL": "https://training.example.org",
    }
    app = bench_app(sqlite_file(folder), folder, settings)
    with app.app_context():
        db.create_all()
        create_user("nurse@example.org", "Nora Nurse", "a long bench password", role="staff").employee_id = "E1001"
        db.session.commit()
    idp.register_sp(app.test_client().get("/sso/saml/metadata").data)
    return app


def one_sign_in(app) -> dict[str, float]:
    """Seconds for each leg of one sign-in, in a new browser; NotThePage unless it ends on My training."""
    client = app.test_client()
    start = time.perf_counter()
    redirect = client.get("/sso/saml/login")
    ours = time.perf_counter()
    if redirect.status_code != 302:
        raise NotThePage(f"GET /sso/saml/login: HTTP {redirect.status_code}, expected 302 to the IdP")
    form = sign_in_at_idp(redirect.headers["Location"], "nurse")
    theirs = time.perf_counter()
    answer = client.post("/sso/saml/acs", data={"SAMLResponse": form.fields["SAMLResponse"]})
    done = time.perf_counter()
    if answer.status_code != 302 or answer.headers.get("Location") != "/":
        raise NotThePage(f"POST /sso/saml/acs: HTTP {answer.status_code} to {answer.headers.get('Location')!r}")
    check_response("GET / after the sign-in", client.get("/"), html_page("<h1>My training</h1>"))
    return dict(zip(LEGS, (ours - start, theirs - ours, done - theirs), strict=True))


def measure(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        idp = SimpleSamlPhp(Path(folder) / "idp")
        idp.start()
        try:
            app = saml_app(Path(folder), idp)
            one_sign_in(app)  # warm-up: caches, the IdP's PHP opcache
            rounds = [one_sign_in(app) for _ in range(arguments.sign_ins)]
        finally:
            idp.stop()
    print(f"SAML sign-in round trip through SimpleSAMLphp, median of {arguments.sign_ins} sign-ins")
    for leg in LEGS:
        print(f"  {leg:<24} {statistics.median(r[leg] for r in rounds) * 1000:10.1f} ms")
    total = statistics.median(sum(r.values()) for r in rounds) * 1000
    print(f"  {'round trip':<24} {total:10.1f} ms")


def main(argv: list[str] | None = None) -> None:
    arguments = sign_in_arguments(
        __doc__, argv, count_help="how many sign-ins to time (default 30)", tiny_help="3 sign-ins: seconds (tests)"
    )
    with stop_on_wrong_page():
        measure(arguments)


if __name__ == "__main__":
    main()
