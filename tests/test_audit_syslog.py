"""The audit record and the security log forwarded to a SIEM (ASVS 16.4.3), received by a real rsyslogd.

rsyslogd (Debian's `rsyslog` and `rsyslog-gnutls`) runs on loopback (tests/rsyslog.py) and writes what
it parsed out of each RFC 5424 message; the tests act through HTTP and the CLI and read that file.
"""

import json
import logging
import os
import socket
import time
from datetime import UTC

import pytest
from sqlalchemy import select

from tests.conftest import Auth
from tests.rsyslog import Rsyslog, free_port, make_certificates, structured_data
from training.audit.models import AuditEvent
from training.audit.services import record_event
from training.extensions import db


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("syslog-certificates"))


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory, certificates):
    """One rsyslogd for the module; each test reads only what arrived after it started (`since`)."""
    server = Rsyslog(tmp_path_factory.mktemp("rsyslog"), certificates)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_rsyslog(tmp_path, certificates):
    """An rsyslogd for one test, which it may stop and start again."""
    folder = tmp_path / "own-rsyslog"
    folder.mkdir()
    server = Rsyslog(folder, certificates)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers: a TLS handshake with it waits for the timeout."""
    server = socket.create_server(("127.0.0.1", 0), backlog=8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def app_config(request, rsyslog, certificates):
    """AUDIT_SYSLOG_* for the destination a test names with `@pytest.mark.parametrize("app_config", [...])`."""
    tls = {"AUDIT_SYSLOG_URL": rsyslog.url("tls"), "AUDIT_SYSLOG_CA_FILE": str(certificates.ca)}
    destinations = {
        "off": dict,
        "tcp": lambda: {"AUDIT_SYSLOG_URL": rsyslog.url("tcp")},
        "tls": lambda: tls,
        "mutual tls": lambda: {
            "AUDIT_SYSLOG_URL": rsyslog.url("mtls"),
            "AUDIT_SYSLOG_CA_FILE": str(certificates.ca),
            "AUDIT_SYSLOG_CLIENT_CERT": str(certificates.client_cert),
            "AUDIT_SYSLOG_CLIENT_KEY": str(certificates.client_key),
        },
        "wrong ca": lambda: tls | {"AUDIT_SYSLOG_CA_FILE": str(certificates.other_ca)},
        "closed port": lambda: {"AUDIT_SYSLOG_URL": f"tcp://127.0.0.1:{free_port()}"},
        "never answers": lambda: {
            "AUDIT_SYSLOG_URL": f"tls://127.0.0.1:{request.getfixturevalue('silent_server')}",
            "AUDIT_SYSLOG_TIMEOUT": "3",
        },
        "own rsyslog": lambda: {"AUDIT_SYSLOG_URL": request.getfixturevalue("own_rsyslog").url("tcp")},
    }
    return destinations[getattr(request, "param", "tcp")]()


@pytest.fixture(autouse=True)
def _forwarder_closed(app):
    """Each test's forwarder sends what it holds and stops before the next test reads the file."""
    yield
    forwarder = app.extensions.get("audit_syslog")
    if forwarder is not None:
        forwarder.close()


@pytest.fixture
def since(rsyslog) -> int:
    return rsyslog.mark()


def audit_messages(received: list[dict], action: str | None = None) -> list[dict]:
    """The audit events among the received messages (optionally one action), each with its parsed fields."""
    found = []
    for message in received:
        if message["msgid"] != "audit":
            continue
        fields = structured_data(message["structured_data"])["audit@32473"]
        if action is None or fields["action"] == action:
            found.append(message | {"fields": fields})
    return found


def rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(db.session.execute(query).scalars())


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def add_department(auth, name: str):
    return auth.post("/staff/departments", {"name": name}, token_from="/staff/departments")


def test_a_sign_in_reaches_the_siem_as_rfc_5424_over_tcp(app, client, make_user, rsyslog, since):
    user = make_user(email="nia@example.org")
    assert Auth(client).login(user).status_code == 302

    received = rsyslog.wait_for(lambda got: audit_messages(got, "user.signed_in"), since)
    (message,) = audit_messages(received, "user.signed_in")
    (row,) = rows(app, "user.signed_in")
    assert message["version"] == "1"
    assert message["pri"] == str(13 * 8 + 5), "facility 13 (log audit), severity notice"
    assert message["app_name"] == "training"
    assert message["procid"] == str(os.getpid())
    assert message["hostname"] == socket.gethostname()
    stamp = row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert message["timestamp"] in (stamp + "Z", stamp + "+00:00"), "the event's own time, in UTC"
    fields = message["fields"]
    assert fields["id"] == str(row.id)
    assert fields["actor_id"] == str(user.id)
    assert (fields["subject_type"], fields["subject_id"]) == (row.subject_type, row.subject_id)
    assert fields["ip"] == "127.0.0.1"
    assert json.loads(fields["details"]) == row.details
    assert json.loads(message["msg"])["id"] == row.id


@pytest.mark.parametrize("app_config", ["tls"], indirect=True)
def test_an_hr_change_reaches_the_siem_over_tls_with_awkward_characters_intact(app, auth, make_user, rsyslog, since):
    auth.login(make_user(role="hr", email="hr@example.org"))
    name = 'Ward "7] \\ Ünïcode'
    assert add_department(auth, name).status_code == 302

    received = rsyslog.wait_for(lambda got: audit_messages(got, "department.created"), since)
    (message,) = audit_messages(received, "department.created")
    (row,) = rows(app, "department.created")
    assert message["fields"]["id"] == str(row.id)
    assert message["fields"]["subject_id"] == row.subject_id
    assert json.loads(message["fields"]["details"]) == {"name": name}
    assert json.loads(message["msg"])["details"] == {"name": name}


@pytest.mark.parametrize("app_config", ["mutual tls"], indirect=True)
def test_a_client_certificate_is_presented_when_the_siem_requires_one(client, make_user, rsyslog, since):
    assert Auth(client).login(make_user()).status_code == 302
    rsyslog.wait_for(lambda got: audit_messages(got, "user.signed_in"), since)


def test_a_security_log_line_reaches_the_siem_with_msgid_security(client, rsyslog, since):
    response = client.post("/login", data={"email": "a@example.org", "password": "whatever it is"})
    assert response.status_code == 400

    received = rsyslog.wait_for(lambda got: any(m["msgid"] == "security" for m in got), since)
    (message,) = [m for m in received if m["msgid"] == "security"]
    assert message["pri"] == str(4 * 8 + 4), "facility 4 (security/authorization), severity warning"
    assert structured_data(message["structured_data"])["security@32473"]["event"] == "csrf_refused"
    assert message["msg"].startswith('csrf_refused method="POST" path="/login" ip="127.0.0.1"')
    assert "whatever it is" not in message["msg"]


def test_only_committed_audit_events_are_forwarded(app, rsyslog, since):
    with app.app_context():
        record_event("test.rolled_back", actor_id=None)
        db.session.rollback()
        record_event("test.kept", actor_id=None)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            record_event("test.savepoint_rolled_back", actor_id=None)
            db.session.flush()
            raise RuntimeError("undo the savepoint")
        with db.session.begin_nested():
            record_event("test.savepoint_released", actor_id=None)
        db.session.commit()

    rsyslog.wait_for(lambda got: len(audit_messages(got)) >= 2, since)
    app.extensions["audit_syslog"].close()
    received = rsyslog.messages(since)
    assert [m["fields"]["action"] for m in audit_messages(received)] == ["test.kept", "test.savepoint_released"]


@pytest.mark.parametrize("app_config", ["wrong ca"], indirect=True)
def test_a_siem_whose_certificate_another_ca_signed_is_refused_without_delaying_the_request(
    app, client, make_user, rsyslog, since, caplog
):
    caplog.set_level(logging.WARNING, "training.syslog")
    user = make_user()
    response, seconds = timed(lambda: Auth(client).login(user))
    assert response.status_code == 302
    assert seconds < 1
    assert len(rows(app, "user.signed_in")) == 1

    deadline = time.monotonic() + 10
    while not any("certificate verify failed" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no warning that the SIEM's certificate was refused"
        time.sleep(0.05)
    app.extensions["audit_syslog"].close()
    assert audit_messages(rsyslog.messages(since)) == []


@pytest.mark.parametrize("app_config", ["never answers"], indirect=True)
def test_a_siem_that_never_answers_does_not_delay_requests(app, client, make_user, caplog):
    """The handshake with the silent server waits 3 s on the forwarder's thread, never in a request."""
    caplog.set_level(logging.WARNING, "training.syslog")
    auth, user = Auth(client), make_user()
    for _ in range(3):
        response, seconds = timed(lambda: auth.login(user))
        assert response.status_code == 302
        assert seconds < 1, "a request waited for the SIEM"
        assert auth.logout().status_code == 302
    assert len(rows(app, "user.signed_in")) == 3

    deadline = time.monotonic() + 10
    while not any("timed out" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no warning that the SIEM did not answer"
        time.sleep(0.05)


@pytest.mark.parametrize("app_config", ["own rsyslog"], indirect=True)
def test_during_an_outage_requests_do_not_wait_events_stay_in_the_database_and_forwarding_catches_up(
    app, auth, make_user, own_rsyslog, caplog
):
    caplog.set_level(logging.INFO, "training.syslog")
    auth.login(make_user(role="hr", email="hr@example.org"))
    own_rsyslog.wait_for(lambda got: audit_messages(got, "user.signed_in"))

    own_rsyslog.stop()
    for name in ("Radiology", "Pharmacy", "Cardiology"):
        response, seconds = timed(lambda name=name: add_department(auth, name))
        assert response.status_code == 302
        assert seconds < 1, "a request waited for the SIEM"
    assert [row.details["name"] for row in rows(app, "department.created")] == ["Radiology", "Pharmacy", "Cardiology"]

    deadline = time.monotonic() + 10
    while not [r for r in caplog.records if "cannot send" in r.getMessage()]:
        assert time.monotonic() < deadline, "no warning that the SIEM could not be reached"
        time.sleep(0.05)
    own_rsyslog.start()

    received = own_rsyslog.wait_for(lambda got: len(audit_messages(got, "department.created")) == 3, timeout=40)
    ids = [int(m["fields"]["id"]) for m in audit_messages(received, "department.created")]
    assert ids == [row.id for row in rows(app, "department.created")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "one warning for the outage, not one per event"
    assert "cannot send" in warnings[0].getMessage()
    assert any("sending again" in r.getMessage() for r in caplog.records)


def test_flask_audit_forward_sends_events_again_from_the_database(app, runner, auth, make_user, rsyslog, since):
    auth.login(make_user(role="hr", email="hr@example.org"))
    for name in ("Radiology", "Pharmacy"):
        assert add_department(auth, name).status_code == 302
    rsyslog.wait_for(lambda got: len(audit_messages(got)) == 3, since)
    first, second = (row.id for row in rows(app, "department.created"))

    result = runner.invoke(args=["audit", "forward", "--since", str(first)])
    assert result.exit_code == 0, result.output
    assert f"Sent 2 audit event(s), ids {first} to {second}, to {rsyslog.url('tcp')}." in result.output

    received = rsyslog.wait_for(lambda got: len(audit_messages(got)) == 5, since)
    assert [int(m["fields"]["id"]) for m in audit_messages(received)][3:] == [first, second]

    later = runner.invoke(args=["audit", "forward", "--since", str(second + 1)])
    assert later.exit_code == 0
    assert f"No audit events from id {second + 1} on; nothing sent." in later.output


@pytest.mark.parametrize("app_config", ["closed port"], indirect=True)
def test_flask_audit_forward_says_when_the_siem_cannot_be_reached(app, runner):
    with app.app_context():
        record_event("test.event", actor_id=None)
        db.session.commit()
    result = runner.invoke(args=["audit", "forward", "--since", "1"])
    assert result.exit_code == 1
    url = app.config["AUDIT_SYSLOG_URL"]
    assert f"Error: could not send to {url} (" in result.output
    assert "sent nothing." in result.output


@pytest.mark.parametrize("app_config", ["off"], indirect=True)
def test_flask_audit_forward_needs_a_destination(runner):
    result = runner.invoke(args=["audit", "forward", "--since", "1"])
    assert result.exit_code == 1
    assert "AUDIT_SYSLOG_URL is not set" in result.output
