# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app.py

.PHONY: run setup upgrade serve venv venv-runtime peers lock sbom audit test test-fast screenshots bench bench-dashboard bench-item-stats bench-feed bench-load bench-sso lint format check-content clean

# The virtual environment holds exactly the packages of a lock file, each checked against its SHA-256 hash.
# requirements*.txt are the direct pins; `make lock` turns them into the locks.
# First pip itself, as requirements-dev.lock pins it: the bundled pip is older (with published advisories) and slower.
define locked_venv
	$(PYTHON) -m venv $(VENV)
	sed -n '/^pip==/,/[^\\]$$/p' requirements-dev.lock > $(VENV)/pip.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(VENV)/pip.lock
endef

$(BIN)/activate.stamp: requirements-dev.lock
	$(locked_venv)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $@

venv: $(BIN)/activate.stamp

## Only the runtime packages (requirements.lock, hash-checked), no test tools: what a server installs.
$(BIN)/runtime.stamp: requirements.lock requirements-dev.lock
	$(locked_venv)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $@

venv-runtime: $(BIN)/runtime.stamp

## The test peers from the npm registry (tests/peers/*), each installed from its lock file and reinstalled only when
## the lock file changes: panva's oidc-provider, and the Nu HTML Checker (vnu.jar, run with the machine's Java; its
## install script, which would download a Java of its own, is skipped).
OIDC_PEER := tests/peers/oidc
$(OIDC_PEER)/node_modules/.package-lock.json: $(OIDC_PEER)/package-lock.json
	npm ci --prefix $(OIDC_PEER) --no-audit --no-fund

VNU_PEER := tests/peers/vnu
$(VNU_PEER)/node_modules/.package-lock.json: $(VNU_PEER)/package-lock.json
	npm ci --prefix $(VNU_PEER) --ignore-scripts --no-audit --no-fund

peers: $(OIDC_PEER)/node_modules/.package-lock.json $(VNU_PEER)/node_modules/.package-lock.json

## Resolve requirements.txt and requirements-dev.txt into the hashed lock files, keeping current versions where the
## pins allow; LOCK_FLAGS="--upgrade-package NAME" (or --upgrade) moves to newer ones. Needs PyPI.
LOCK_FLAGS ?=
LOCK := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock"
lock: venv
	$(LOCK) $(LOCK_FLAGS) requirements.txt -o requirements.lock
	$(LOCK) $(LOCK_FLAGS) --constraint requirements.lock requirements-dev.txt -o requirements-dev.lock

## A CycloneDX 1.6 SBOM (JSON) of the runtime components in requirements.lock, with versions and hashes; offline.
SBOM ?= artifacts/sbom.cdx.json
sbom: venv
	mkdir -p $(dir $(SBOM))
	$(BIN)/cyclonedx-py requirements --output-reproducible -o $(SBOM) requirements.lock

## Check every locked package against known vulnerabilities (pip-audit: PyPI's advisories, else OSV); fails on one,
## says "could not check" and succeeds when neither database answers (tools/audit_dependencies.py).
audit: venv
	$(BIN)/python tools/audit_dependencies.py requirements-dev.lock

## Create the database schema, load the shipped courses and seed the demo organisation (first run only).
setup: venv
	$(BIN)/flask db upgrade
	$(BIN)/flask content sync
	$(BIN)/flask demo --if-empty

## Serve the app on http://127.0.0.1:5000 (SQLite in instance/ unless DATABASE_URL is set).
## Development mode: plain HTTP cookies, no HTTPS redirect; two-step sign-in optional for the demo.
run: export TRAINING_ENV ?= development
run: export MFA_REQUIRED ?= 0
run: setup
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## Bring a database up to this code: migrations, then the shipped courses (run once per release, on one server).
upgrade: venv-runtime
	$(BIN)/flask db upgrade
	$(BIN)/flask content sync

## Serve in production under gunicorn (gunicorn.conf.py), configured from the environment: see docs/operations.md.
## Refuses to start while SECRET_KEY or a PostgreSQL DATABASE_URL is missing or the database is not upgraded.
serve: venv-runtime
	$(BIN)/gunicorn --config gunicorn.conf.py

## The whole test suite on every core, up to 4 pytest-xdist workers (SQLite; PostgreSQL too when TEST_DATABASE_URL is set).
TEST_WORKERS ?= auto
test: venv peers
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses 4

## The unit tests and a smoke subset through HTTP (tests marked smoke), on SQLite only: under a minute, for the edit-run loop.
test-fast: venv
	TEST_DATABASE_URL= $(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses 4 -m smoke

## Run the end-to-end tests (Chromium, SQLite), copy their screenshots, made smaller, to docs/screenshots/
## and check that docs/screenshots.md shows each of them.
screenshots: venv peers
	rm -f artifacts/screenshots/*.png
	E2E_SCREENSHOT_DIR=artifacts/screenshots TEST_DATABASE_URL= $(BIN)/pytest tests/e2e --ignore=tests/e2e/test_docs_screenshots.py
	$(BIN)/python -m tests.e2e.docs_screenshots artifacts/screenshots docs/screenshots
	$(BIN)/pytest tests/e2e/test_docs_screenshots.py

## Print certificate rendering and export figures against baselines from the same run (SQLite in a temporary folder).
## The bench-* targets need no settings; each script's docstring says what it uses (--tiny: a run of seconds).
bench: venv
	$(BIN)/python bench/certificates.py

## Print the compliance dashboard's and people list's response times against a bare page, 1,000 to 50,000 staff
## (SQLite, then PostgreSQL database bench_dashboard, created and dropped, when PostgreSQL answers on 127.0.0.1).
bench-dashboard: venv
	$(BIN)/python bench/dashboard.py

## Print the item statistics pages' response times against a bare page, for 20,000 quiz attempts (SQLite, temporary).
bench-item-stats: venv
	$(BIN)/python bench/item_stats.py

## Print the HR feed's run time for 10,000 rows (creating, then 5% changed) against flask staff import of the same files.
bench-feed: venv
	$(BIN)/python bench/feed.py

## Load-test gunicorn on PostgreSQL with 30 virtual learners (sign-in, modules, quizzes) beside a hello-world route
## (PostgreSQL database bench_load, created and dropped; Redis database 13).
bench-load: venv
	$(BIN)/python bench/load.py

## Print a complete OpenID Connect sign-in's time through oidc-provider on loopback against the password sign-in.
bench-sso: venv peers
	$(BIN)/python bench/sso.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-content: venv
	$(BIN)/flask content check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
