"""The dependency supply chain (docs/security.md 15.1.2, 15.2.1): hashed locks, the SBOM and the audit, offline.

requirements.txt and requirements-dev.txt are the direct pins people edit; `make lock` resolves them into
requirements.lock and requirements-dev.lock (every package, with hashes), which are what `make venv` installs. These
tests read the files and run the make targets as a developer or CI would, with the venv taken as it is (`-o`).
"""

import json
import os
import re
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from training.config import PROJECT_ROOT

LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    marker: str
    hashes: frozenset[str]


def direct_pins(path: Path) -> dict[str, str]:
    """The `name==version` lines of a requirements file (not its `-r` includes), by normalised name."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line} is not pinned with =="
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def locked_packages(path: Path) -> list[Locked]:
    """Every requirement of a lock file with its marker and hashes (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    packages = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line.split("--hash", 1)[0].strip())
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line[:80]} is not pinned with =="
        name = canonicalize_name(requirement.name)
        packages.append(Locked(name, specifier.version, str(requirement.marker or ""), frozenset(HASH.findall(line))))
    return packages


def locked_versions(path: Path) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in locked_packages(path):
        versions.setdefault(package.name, set()).add(package.version)
    return versions


def run_make(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`make ARGUMENTS` in the project, without rebuilding the virtual environment this test runs in."""
    command = ["make", "--no-print-directory", "--old-file=.venv/bin/activate.stamp", *arguments]
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=env or dict(os.environ), capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("pins, lock", LOCKS.items())
def test_every_direct_pin_is_locked_at_the_same_version(pins, lock):
    locked = locked_versions(PROJECT_ROOT / lock)

    drifted = {
        name: (version, sorted(locked.get(name, ())))
        for name, version in direct_pins(PROJECT_ROOT / pins).items()
        if locked.get(name) != {version}
    }

    assert not drifted, f"{pins} and {lock} disagree (pin, locked); run `make lock`: {drifted}"


def test_the_development_lock_holds_every_runtime_package_at_the_runtime_version():
    runtime = locked_versions(PROJECT_ROOT / "requirements.lock")
    development = locked_versions(PROJECT_ROOT / "requirements-dev.lock")

    assert (
        direct_pins(PROJECT_ROOT / "requirements.txt").keys()
        <= direct_pins(PROJECT_ROOT / "requirements-dev.txt").keys() | runtime.keys()
    )
    assert {name: versions for name, versions in runtime.items() if development.get(name) != versions} == {}


@pytest.mark.parametrize("lock", LOCKS.values())
def test_every_locked_package_has_a_hash(lock):
    packages = locked_packages(PROJECT_ROOT / lock)

    assert len(packages) > len(direct_pins(PROJECT_ROOT / "requirements.txt"))
    assert [package.name for package in packages if not package.hashes] == []


@pytest.mark.parametrize(
    "target, lock",
    [(".venv/bin/activate.stamp", "requirements-dev.lock"), (".venv/bin/runtime.stamp", "requirements.lock")],
)
def test_make_installs_only_the_locked_packages_each_checked_against_its_hash(target, lock, tmp_path):
    result = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", target],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    installs = [line for line in result.stdout.splitlines() if " install " in line]
    assert installs == [
        ".venv/bin/pip install --quiet --require-hashes --no-deps -r .venv/pip.lock",
        f".venv/bin/pip install --quiet --require-hashes --no-deps -r {lock}",
    ]
    [extract] = [line for line in result.stdout.splitlines() if line.startswith("sed ")]
    extract = extract.replace(".venv/pip.lock", str(tmp_path / "pip.lock"))
    subprocess.run(["sh", "-c", extract], cwd=PROJECT_ROOT, check=True, timeout=60)
    [pip] = locked_packages(tmp_path / "pip.lock")
    assert pip == next(
        package for package in locked_packages(PROJECT_ROOT / "requirements-dev.lock") if package.name == "pip"
    )


def test_make_sbom_lists_every_runtime_package_with_its_version_and_hashes(tmp_path):
    sbom_path = tmp_path / "sbom.cdx.json"

    result = run_make("sbom", f"SBOM={sbom_path}")

    assert result.returncode == 0, result.stderr
    text = sbom_path.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    sbom = json.loads(text)
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")
    components = {(canonicalize_name(c["name"]), c["version"]): c for c in sbom["components"]}
    runtime = locked_packages(PROJECT_ROOT / "requirements.lock")
    assert components.keys() == {(package.name, package.version) for package in runtime}
    for package in runtime:
        component = components[package.name, package.version]
        assert component["purl"] == f"pkg:pypi/{package.name}@{package.version}"
        listed = {
            h["content"] for ref in component["externalReferences"] for h in ref["hashes"] if h["alg"] == "SHA-256"
        }
        assert listed == package.hashes, package.name
    assert ("pytest", "9.2.0") not in components, "the SBOM describes what is deployed, not the test tools"


def closed_port() -> int:
    """A loopback port nothing listens on: what a proxy that refuses every connection looks like."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_audit_says_it_could_not_check_and_succeeds_when_no_advisory_database_answers(tmp_path):
    proxy = f"http://127.0.0.1:{closed_port()}"
    offline = {
        **{key: value for key, value in os.environ.items() if key.lower() != "no_proxy"},
        **{"HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "http_proxy": proxy},
        # An empty cache, so no advisory answer from an earlier run stands in for the database.
        **{"XDG_CACHE_HOME": str(tmp_path / "cache"), "PIP_CACHE_DIR": str(tmp_path / "pip-cache")},
    }

    result = run_make("audit", env=offline)

    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("pip-audit:")]
    assert line.startswith("pip-audit: could not check (advisory database unreachable: pypi: ")
    assert "; osv: " in line
