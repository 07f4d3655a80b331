"""A real OpenID provider for the tests: panva's oidc-provider (tests/peers/oidc/provider.mjs) on loopback.

`OidcProvider` starts it with signing keys made here, one client registered for our callback and the
test people of `ACCOUNTS`; `ProviderBrowser` plays the person's browser against it with `requests`:
it follows the redirects, fills in the provider's own sign-in form and stops at the redirect back to us.
The keys' private halves stay with the test, so a test can also sign a token as the provider would
(claims changed) or with a key the provider does not publish, and have the provider deliver it.
"""

import json
import queue
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers import stop_process

PEER_DIR = Path(__file__).resolve().parent / "peers" / "oidc"
CLIENT_ID = "training-app"
CLIENT_SECRET = "a client secret only the tests know, long enough for HS256"

# The provider's people, by `sub` (what devInteractions' "login" field takes). Every claim the app reads.
ACCOUNTS = {
    "a8f2-nurse": {
        "email": "nora.nurse@hospital.example",
        "email_verified": True,
        "name": "Nora Nurse",
        "employee_id": "E1001",
        "groups": ["Nursing"],
        "department": "Ward 4",
        "job_title": "Staff nurse",
    },
    "b7c1-newcomer": {
        "email": "nils.newcomer@hospital.example",
        "email_verified": True,
        "name": "Nils Newcomer",
        "employee_id": "E2002",
        "groups": ["Pharmacy"],
        "department": "Pharmacy",
        "job_title": "Pharmacist",
    },
    "c3d9-hr": {
        "email": "hana.hr@hospital.example",
        "email_verified": True,
        "name": "Hana Hr",
        "employee_id": "E3003",
        "groups": ["Staff", "Training-HR"],
        "department": "People",
        "job_title": "HR partner",
    },
    "d4e0-stranger": {
        "email": "sam.stranger@hospital.example",
        "email_verified": True,
        "name": "Sam Stranger",
        "employee_id": "E9999",
        "groups": [],
        "department": "Facilities",
        "job_title": "Porter",
    },
}


def new_signing_key(kid: str | None = None) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid or uuid.uuid4().hex[:12], "alg": "RS256", "use": "sig"})


def node_path() -> str:
    found = shutil.which("node")
    if not found or not (PEER_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail(
            "The OpenID Connect tests need Node.js and panva's oidc-provider: apt-get install nodejs npm, then "
            "`npm ci --prefix tests/peers/oidc` (make test and .ci/run do it)."
        )
    return found


class OidcProvider:
    """oidc-provider in a Node process of its own, on a free port of 127.0.0.1, until `stop()`."""

    def __init__(self, redirect_uris: list[str], post_logout_redirect_uris: list[str]):
        self.keys = [new_signing_key(), new_signing_key()]
        self.client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris,
        }
        settings = {"jwks": self._jwks(), "client": self.client, "accounts": ACCOUNTS}
        self.process = subprocess.Popen(
            [node_path(), str(PEER_DIR / "provider.mjs")],
            env={"PATH": "/usr/bin:/bin", "OIDC_TEST_SETTINGS": json.dumps(settings), "NODE_ENV": "test"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []  # its warnings (devInteractions is for tests only), shown if it fails
        port = self._port_when_listening()
        if port is None:
            self.stop()
            pytest.fail("oidc-provider did not start:\n" + "".join(self.output))
        self.issuer = f"http://127.0.0.1:{port}"

    def _port_when_listening(self) -> int | None:
        """Read its output in a thread (so that it never blocks on a full pipe) until it says its port."""
        ports: queue.Queue[int | None] = queue.Queue()

        def read_output():
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("listening "):
                    ports.put(int(line.split()[1]))
            ports.put(None)

        threading.Thread(target=read_output, name="oidc-provider-output", daemon=True).start()
        try:
            return ports.get(timeout=30)
        except queue.Empty:
            return None

    def _jwks(self) -> dict:
        return {"keys": [key.as_dict(private=True) for key in self.keys]}

    @property
    def signing_key(self) -> RSAKey:
        """The key the provider signs ID tokens with now (the first of its list)."""
        return self.keys[0]

    def _hook(self, name: str, body: dict) -> None:
        response = requests.post(f"{self.issuer}/__test__/{name}", json=body, timeout=10)
        assert response.status_code == 204, response.text

    def rotate_keys(self) -> RSAKey:
        """A new key signs from now on; the old signing key is still published, the other one is dropped."""
        self.keys = [new_signing_key(), self.keys[0]]
        self._hook("configure", {"jwks": self._jwks()})
        return self.signing_key

    def register_redirect(self, redirect_uri: str, post_logout_redirect_uri: str) -> None:
        self.client["redirect_uris"].append(redirect_uri)
        self.client["post_logout_redirect_uris"].append(post_logout_redirect_uri)
        self._hook("configure", {"client": self.client})

    def deliver_id_token(self, id_token: str | None) -> None:
        """The provider's next token response carries this ID token in place of its own (None: its own)."""
        self._hook("id-token", {"id_token": id_token})

    def claims(self, **changes) -> dict:
        """An ID token's claims for our client, as the provider would issue them now, with `changes`."""
        now = int(time.time())
        return {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 600} | changes

    def id_token(self, claims: dict, *, key: RSAKey | None = None) -> str:
        """These claims signed (RS256) with `key`: by default the provider's own signing key, so that only
        what the claims change is wrong."""
        key = key or self.signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def stop(self) -> None:
        stop_process(self.process)
        self.process.stdout.close()


class ProviderBrowser:
    """The person's browser at the provider: cookies kept, redirects followed one by one, the sign-in form
    filled in; returns the address the provider sends the browser back to."""

    def __init__(self, back_to: str):
        self.back_to = back_to
        self.session = requests.Session()

    def follow(self, url: str, *, method: str = "GET", data: dict | None = None) -> requests.Response | str:
        """Follow redirects from `url` until the way back to us (returned as a str) or a page (the Response)."""
        for _ in range(10):
            if url.startswith(self.back_to):
                return url
            response = self.session.request(method, url, data=data, allow_redirects=False, timeout=10)
            if response.status_code not in (302, 303):
                return response
            url, method, data = urljoin(url, response.headers["Location"]), "GET", None
        raise AssertionError(f"too many redirects at the provider, last {url}")

    def sign_in(self, authorization_url: str, login: str) -> str:
        """Open the provider's authorization URL, sign in as `login` (any password), return the callback URL."""
        page = self.follow(authorization_url)
        assert isinstance(page, requests.Response), f"the provider sent us straight back: {page}"
        assert page.status_code == 200 and 'name="login"' in page.text, page.text[:2000]
        action = _form_action(page)
        result = self.follow(action, method="POST", data={"prompt": "login", "login": login, "password": "any"})
        assert isinstance(result, str), f"no way back from the provider: {result.status_code} {result.text[:2000]}"
        return result

    def sign_out(self, end_session_url: str) -> str:
        """Open the provider's logout address, confirm on its page, return the address it sends us back to."""
        page = self.follow(end_session_url)
        assert isinstance(page, requests.Response) and page.status_code == 200, getattr(page, "text", page)[:2000]
        assert 'name="xsrf"' in page.text, page.text[:2000]
        data = {"xsrf": _attribute(page.text, 'name="xsrf" value="'), "logout": "yes"}
        result = self.follow(_form_action(page), method="POST", data=data)
        assert isinstance(result, str), f"no way back after logout: {result.status_code} {result.text[:2000]}"
        return result


def _attribute(html: str, before: str) -> str:
    start = html.index(before) + len(before)
    return html[start : html.index('"', start)]


def _form_action(page: requests.Response) -> str:
    return urljoin(page.url, _attribute(page.text, 'action="'))


def path_and_query(url: str) -> str:
    """What the Flask test client is given for an absolute URL of ours."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
