# The commands the README names. Each one installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO ?= 200

.PHONY: install run test lint bench bench-city browser clean clean-all

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error  # dev: axe-core for the browser tests (never served)
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/casework up --demo $(DEMO)

# Chromium for the browser tests and poppler-utils (pdftotext, pdftoppm) for the PDF tests,
# from Debian's packages (no browser download at run time).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && \
	  command -v pdftoppm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null; \
	  else echo "Install Debian's chromium and poppler-utils packages (sudo apt-get install chromium poppler-utils) for the browser and PDF tests" >&2; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Four pytest-xdist workers on the 2-core machine: each test makes its own databases, broker
# and processes, and many wait on them (a consumer group's rebalance after a SIGKILL, a
# runner catching up), so more workers than cores fill those waits (docs/performance.md: the
# suite's own costs); the tests of an e2e or unit module share a worker (tests/conftest.py).
# The tests' files (their SQLite databases, logs, imports) go on a RAM disk where the machine has
# one (/dev/shm), so that their thousands of commits wait for no disk flush; removed afterwards.
TEST_TMP_ROOT := $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm || echo $${TMPDIR:-/tmp})
test: install browser lint
	CASEWORK_TEST_PG="$$($(BIN)/python tests/ensure_postgres.py)" && export CASEWORK_TEST_PG && \
	  scratch="$$(mktemp -d $(TEST_TMP_ROOT)/casework-tests.XXXXXX)" && trap 'rm -rf "$$scratch"' EXIT && trap 'exit 130' INT TERM && \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadgroup --durations=25 \
	    --basetemp="$$scratch/pytest"

bench: install
	$(BIN)/python -m bench

# The city-scale run (docs/performance.md): HOUSEHOLDS=20000 make bench-city for a smaller city.
HOUSEHOLDS ?= 160000
bench-city: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench --city --households $(HOUSEHOLDS)

# The master key (var/master_key) makes every personal field readable: `clean` keeps it (and
# var/secret_key); `clean-all` deletes it too, only after the answer "yes".
KEY_FILES := var/master_key var/secret_key

clean:
	rm -rf $(VENV) node_modules
	@if [ -d var ]; then find var -mindepth 1 -maxdepth 1 $(foreach k,$(KEY_FILES),! -path $(k)) \
	  -exec rm -rf {} +; fi
	@for k in $(KEY_FILES); do [ -e $$k ] && echo "kept $$k (make clean-all deletes it)"; done; true

clean-all: clean
	@if [ -e var/master_key ]; then \
	  printf '%s' "Delete var/master_key? Every personal field encrypted with it becomes unreadable for ever. Type yes: "; \
	  read answer; [ "$$answer" = yes ] || { echo "kept var/master_key"; exit 1; }; \
	fi
	rm -rf var
