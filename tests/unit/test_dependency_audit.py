"""How `make audit` reads a pip-audit run: found vulnerabilities fail, an unreachable database is only reported."""

import json

from tools.audit_dependencies import (
    CLEAN,
    EXIT_STATUS,
    FAILED,
    UNCHECKED,
    VULNERABLE,
    interpret,
    summary,
)

# pip-audit 2.10's JSON report (`--format json --aliases on`), as it writes it.
VULNERABLE_REPORT = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.4",
            "vulns": [
                {"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"], "aliases": ["CVE-2024-56201"]},
                {"id": "GHSA-gmj6-6f8f-6699", "fix_versions": ["3.1.5"], "aliases": ["CVE-2024-56326"]},
            ],
        },
    ],
    "fixes": [],
}
REQUESTS_TRACEBACK = """Traceback (most recent call last):
  File "/srv/.venv/lib/python3.11/site-packages/requests/adapters.py", line 729, in send
    raise ConnectionError(e, request=request)
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries exceeded with \
url: /v1/query (Caused by NameResolutionError("Failed to resolve 'api.osv.dev'"))
"""


def skipped(name, version):
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} ({version})"}


def test_a_vulnerability_fails_the_audit_and_names_the_package_the_advisory_and_the_fix():
    outcome = interpret(1, json.dumps(VULNERABLE_REPORT), "Found 2 known vulnerabilities in 1 package\n")

    assert outcome.kind == VULNERABLE and EXIT_STATUS[outcome.kind] == 1
    assert outcome.audited == 2
    lines = summary(outcome, "pypi")
    assert lines[0] == "pip-audit: jinja2 3.1.4 has GHSA-q2x7-8rv6-6q7h (CVE-2024-56201) (fixed in 3.1.5)"
    assert lines[1] == "pip-audit: jinja2 3.1.4 has GHSA-gmj6-6f8f-6699 (CVE-2024-56326) (fixed in 3.1.5)"
    assert lines[2].startswith("pip-audit: FAILED, 2 known vulnerabilities in jinja2;")


def test_a_vulnerability_found_even_while_other_packages_were_skipped_still_fails():
    report = {"dependencies": [skipped("flask", "3.1.3"), *VULNERABLE_REPORT["dependencies"][1:]]}

    outcome = interpret(1, json.dumps(report), "")

    assert outcome.kind == VULNERABLE
    assert [finding.name for finding in outcome.findings] == ["jinja2", "jinja2"]


def test_a_clean_report_passes_and_says_how_many_packages_were_checked():
    report = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}], "fixes": []}

    outcome = interpret(0, json.dumps(report), "No known vulnerabilities found\n")

    assert outcome.kind == CLEAN and EXIT_STATUS[outcome.kind] == 0
    assert summary(outcome, "pypi") == ["pip-audit: no known vulnerabilities in 1 locked packages (pypi)"]


def test_packages_the_database_does_not_know_are_named_as_not_checked():
    report = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}, skipped("segno", "1.6.6")]}

    outcome = interpret(0, json.dumps(report), "")

    assert outcome.kind == CLEAN
    assert summary(outcome, "pypi")[1] == (
        "pip-audit: could not check 1 packages: Dependency not found on PyPI and could not be audited: segno (1.6.6)"
    )


def test_a_database_that_knows_none_of_the_packages_could_not_check():
    report = {"dependencies": [skipped("flask", "3.1.3"), skipped("segno", "1.6.6")], "fixes": []}

    outcome = interpret(0, json.dumps(report), "No known vulnerabilities found\n")

    assert outcome.kind == UNCHECKED and EXIT_STATUS[outcome.kind] == 0
    assert "2 of 2 skipped" in outcome.reason


def test_an_unreachable_database_could_not_check_and_does_not_fail():
    outcome = interpret(1, None, REQUESTS_TRACEBACK)

    assert outcome.kind == UNCHECKED and EXIT_STATUS[outcome.kind] == 0
    [line] = summary(outcome, "osv")
    assert line.startswith("pip-audit: could not check (advisory database unreachable: requests.exceptions.Connection")


def test_pip_audits_own_connection_message_could_not_check():
    stderr = (
        "ERROR:pip_audit._cli:Could not connect to PyPI's vulnerability feed\n"
        "ERROR:pip_audit._cli:Tip: your network may be blocking this service. Try another service with `-s SERVICE`\n"
    )

    assert interpret(1, "", stderr).kind == UNCHECKED


def test_pip_audit_failing_for_another_reason_fails_the_audit():
    stderr = "ERROR:pip_audit._cli:invalid requirements input: requirements-dev.lock\n"

    outcome = interpret(1, None, stderr)

    assert outcome.kind == FAILED and EXIT_STATUS[outcome.kind] == 2
    assert summary(outcome, "pypi") == [f"pip-audit: FAILED to run: {stderr.strip()}"]


def test_an_error_status_with_a_report_that_shows_no_vulnerability_is_a_failure_not_a_pass():
    report = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}

    assert interpret(1, json.dumps(report), "Traceback (most recent call last): KeyError\n").kind == FAILED


def test_an_unreadable_report_is_judged_by_the_error_output():
    assert interpret(1, "{not json", "ERROR: something else broke\n").kind == FAILED
    assert interpret(1, "{not json", REQUESTS_TRACEBACK).kind == UNCHECKED


def test_a_finding_without_a_fixed_version_says_so():
    report = {"dependencies": [{"name": "x", "version": "1.0", "vulns": [{"id": "PYSEC-1", "fix_versions": []}]}]}

    outcome = interpret(1, json.dumps(report), "")

    assert summary(outcome, "osv")[0] == "pip-audit: x 1.0 has PYSEC-1 (no fixed version yet)"
