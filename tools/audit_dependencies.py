"""Check a hashed lock file against known vulnerabilities with pip-audit: `make audit` and `.ci/run`.

pip-audit's exit status cannot tell "found a vulnerability" from "could not reach the advisory database" (both are 1,
and a package PyPI answers "not found" for is skipped with status 0), so this reads its JSON report and its error output
and says which of the two happened. PyPI's advisories are asked first; OSV's only when PyPI could check nothing.

Usage: python tools/audit_dependencies.py LOCK_FILE. Exit status 0: no known vulnerability, or no database could be
reached (one line starting "pip-audit: could not check" says why); 1: a locked package has a known vulnerability (each
is named); 2: pip-audit failed for another reason (a lock file it cannot read, say).
"""

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("pypi", "osv")
RUN_TIMEOUT_SECONDS = 600

CLEAN, VULNERABLE, UNCHECKED, FAILED = "clean", "vulnerable", "unchecked", "failed"
EXIT_STATUS = {CLEAN: 0, UNCHECKED: 0, VULNERABLE: 1, FAILED: 2}

# What pip-audit (through requests) prints when the advisory service cannot be reached or answers with an error.
UNREACHABLE = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|ProxyError|SSLError|NameResolutionError|Max retries exceeded"
    r"|Name or service not known|Temporary failure in name resolution|Could not connect|ServiceError"
    r"|network may be blocking"
)


@dataclass(frozen=True)
class Finding:
    """One known vulnerability of one locked package."""

    name: str
    version: str
    advisory: str
    fixed_in: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditOutcome:
    """What one pip-audit run showed: its kind, how many packages it checked, and what it found or why it could not."""

    kind: str
    audited: int = 0
    findings: tuple[Finding, ...] = ()
    skipped: tuple[str, ...] = ()
    reason: str = ""


def interpret(returncode: int, report: str | None, stderr: str) -> AuditOutcome:
    """Classify one pip-audit run from its exit status, its JSON report (None if it wrote none) and its errors."""
    parsed = _parse_report(report)
    if parsed is None:
        return _outcome_without_report(returncode, stderr)
    findings, skipped, audited = parsed
    if findings:
        return AuditOutcome(VULNERABLE, audited, findings, skipped)
    if returncode != 0:
        return AuditOutcome(FAILED, audited, skipped=skipped, reason=_last_line(stderr) or f"exit status {returncode}")
    if audited == 0:
        first = skipped[0] if skipped else "the report lists no package"
        return AuditOutcome(UNCHECKED, skipped=skipped, reason=f"{first}; {len(skipped)} of {len(skipped)} skipped")
    return AuditOutcome(CLEAN, audited, skipped=skipped)


def _parse_report(report: str | None) -> tuple[tuple[Finding, ...], tuple[str, ...], int] | None:
    """The findings, skip reasons and number of checked packages in pip-audit's JSON report, or None if unreadable."""
    if not report or not report.strip():
        return None
    try:
        dependencies = json.loads(report)["dependencies"]
    except (ValueError, KeyError, TypeError):
        return None
    findings, skipped, audited = [], [], 0
    for dependency in dependencies:
        if "skip_reason" in dependency:
            skipped.append(dependency["skip_reason"])
            continue
        audited += 1
        findings.extend(_finding(dependency, vuln) for vuln in dependency.get("vulns", ()))
    return tuple(findings), tuple(skipped), audited


def _finding(dependency: dict, vuln: dict) -> Finding:
    fixed_in = tuple(vuln.get("fix_versions") or ())
    aliases = tuple(vuln.get("aliases") or ())
    return Finding(dependency["name"], dependency["version"], vuln["id"], fixed_in, aliases)


def _outcome_without_report(returncode: int, stderr: str) -> AuditOutcome:
    """pip-audit stopped before writing its report: unreachable if its errors say so, otherwise it failed."""
    unreachable = [line.strip() for line in stderr.splitlines() if UNREACHABLE.search(line)]
    if unreachable:
        return AuditOutcome(UNCHECKED, reason=_shorten(unreachable[-1]))
    reason = _last_line(stderr) or f"exit status {returncode} and no report"
    return AuditOutcome(FAILED, reason=reason)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _shorten(lines[-1]) if lines else ""


def _shorten(line: str, limit: int = 240) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."


def summary(outcome: AuditOutcome, service: str) -> list[str]:
    """The lines to print for a final outcome; each starts with "pip-audit:" so a CI log can be searched for it."""
    if outcome.kind == VULNERABLE:
        lines = [f"pip-audit: {f.name} {f.version} has {_advisory(f)}{_fixed_in(f)}" for f in outcome.findings]
        names = sorted({f.name for f in outcome.findings})
        lines.append(
            f"pip-audit: FAILED, {len(outcome.findings)} known vulnerabilities in {', '.join(names)}; upgrade with"
            f' make lock LOCK_FLAGS="--upgrade-package NAME" (docs/security.md, D8)'
        )
        return lines
    if outcome.kind == CLEAN:
        lines = [f"pip-audit: no known vulnerabilities in {outcome.audited} locked packages ({service})"]
        if outcome.skipped:
            lines.append(f"pip-audit: could not check {len(outcome.skipped)} packages: {'; '.join(outcome.skipped)}")
        return lines
    if outcome.kind == UNCHECKED:
        return [f"pip-audit: could not check (advisory database unreachable: {outcome.reason})"]
    return [f"pip-audit: FAILED to run: {outcome.reason}"]


def _advisory(finding: Finding) -> str:
    return f"{finding.advisory} ({', '.join(finding.aliases)})" if finding.aliases else finding.advisory


def _fixed_in(finding: Finding) -> str:
    return f" (fixed in {', '.join(finding.fixed_in)})" if finding.fixed_in else " (no fixed version yet)"


def run_pip_audit(lock_file: Path, service: str) -> AuditOutcome:
    """Run pip-audit over a fully pinned, hashed lock file (no resolving, no pip) against one advisory service."""
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        command = [
            *(sys.executable, "-m", "pip_audit", "--requirement", str(lock_file), "--require-hashes", "--disable-pip"),
            *("--vulnerability-service", service, "--format", "json", "--output", str(report_path)),
            *("--progress-spinner", "off", "--aliases", "on"),
        ]
        try:
            result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
                command, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return AuditOutcome(UNCHECKED, reason=f"no answer within {RUN_TIMEOUT_SECONDS} seconds")
        report = report_path.read_text() if report_path.exists() else None
    return interpret(result.returncode, report, result.stderr)


def audit(lock_file: Path) -> tuple[AuditOutcome, str]:
    """Ask each service in turn until one can check the lock file; an outcome that could not check names them all."""
    reasons = []
    for service in SERVICES:
        outcome = run_pip_audit(lock_file, service)
        if outcome.kind != UNCHECKED:
            return outcome, service
        reasons.append(f"{service}: {outcome.reason}")
    return AuditOutcome(UNCHECKED, reason="; ".join(reasons)), "+".join(SERVICES)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: python tools/audit_dependencies.py LOCK_FILE (an existing, hashed lock file)", file=sys.stderr)
        return 2
    outcome, service = audit(Path(argv[0]))
    for line in summary(outcome, service):
        print(line)
    return EXIT_STATUS[outcome.kind]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
