# The two commands of the README: `make run` and `make test`.
# Both create .venv if it is missing and install exactly what uv.lock pins.

PYTHON ?= python3
# Two pytest workers (pytest-xdist): the tests that share a platform stay in one worker
# (tests/conftest.py); 32 min instead of ~55 on CI's two cores. `make test PYTEST_WORKERS=` runs one process.
PYTEST_WORKERS ?= -n 2 --dist loadscope --no-loadscope-reorder
UV_VERSION := 0.13.9
VENV := .venv
UV := $(VENV)/bin/uv

.PHONY: install run test test-deps lint typecheck pytest ui ui-test clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ylai needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --quiet

# Builds every UI project under plugins/ that has a package.json (none may exist yet).
ui:
	@for pkg in $$(find plugins -name package.json -not -path '*/node_modules/*'); do \
		dir=$$(dirname $$pkg); echo "building UI in $$dir"; \
		(cd $$dir && npm ci --no-audit --no-fund && npm run build) || exit 1; \
	done

# Component tests (vitest) of the same UI projects.
ui-test: ui
	@for pkg in $$(find plugins -name package.json -not -path '*/node_modules/*'); do \
		(cd $$(dirname $$pkg) && npm test) || exit 1; \
	done

run: install ui
	$(VENV)/bin/ylai run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# What the tests need outside uv.lock and package-lock.json: Chromium (and a CJK font for it) for the
# browser tests. Installed with apt-get when run as root; otherwise named with the command to run.
test-deps:
	@scripts/provision-test-deps

# pytest under coverage ([tool.coverage] in pyproject.toml): the tests and every Python process they
# start write into .coverage-data/, combined after the run. Fails if a test fails or coverage < 85 %.
# A process killed (SIGKILL) while it writes its data leaves a partial file: combine warns about it
# once, and it is removed so that every report after it does not warn again.
pytest: install ui test-deps
	@rm -rf .coverage-data
	@$(VENV)/bin/coverage run -m pytest -v $(PYTEST_WORKERS); tests=$$?; \
	$(VENV)/bin/coverage combine --quiet; rm -f .coverage-data/.coverage.*; \
	$(VENV)/bin/coverage html --quiet --fail-under=0; \
	echo "Python coverage of plugins/ and operators/ (lines + branches; fully covered files not listed):"; \
	$(VENV)/bin/coverage report; cov=$$?; \
	exit $$(( tests ? tests : cov ))

test: lint typecheck ui-test pytest
	@$(VENV)/bin/python scripts/coverage_summary.py

clean:
	rm -rf $(VENV) .airflow .pytest_cache .mypy_cache .ruff_cache .coverage-data plugins/ylai_plugin/ui/coverage
