# Kesu — the two set-up commands of the README are `make start` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: start test install install-test assets browser lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python assets
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python assets browser
	$(BIN)/pip install -q -e '.[test]'

# third-party JS/CSS pinned in package-lock.json, copied into the package's static folder
assets:
	@if [ -f package-lock.json ]; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && $(PY) scripts/vendor_assets.py; \
	fi

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# install, load the demo organisation into SQLite and serve on http://127.0.0.1:8000
start: install
	$(BIN)/kesu demo
	$(BIN)/kesu serve --host 127.0.0.1 --port 8000

# install the test dependencies and run the whole suite
# (PostgreSQL too when KESU_TEST_POSTGRES_URL is set, e.g. postgresql://postgres@127.0.0.1:5432/test)
test: install-test
	$(BIN)/python -m pytest -q -n auto $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# benchmarks (docs/performance.md): Debian's wrk drives the load; BENCH_ARGS e.g.
# "--rows 100000 --seconds 20 --read-seconds 10"; PostgreSQL with KESU_BENCH_POSTGRES_URL
bench: install-test
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules src/kesu/web/static/vendor
