# Truceline: `make run` serves, `make test` checks everything. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tools run test lint typecheck bench clean

install: $(STAMP)

# Reinstall only when the dependency list changes; the package itself is installed
# in editable mode, so code changes need no reinstall.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's packages: wrk generates load for the benchmarks and their quick test;
# chromium runs the page's browser tests (Playwright drives it; it never downloads one).
tools:
	@command -v wrk >/dev/null && command -v chromium >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq wrk chromium; }

# The checkpoints' signing key is made once, beside the default store (mode 0600).
run: install
	$(BIN)/truceline signing-key create --if-missing
	$(BIN)/truceline serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy

test: install tools lint typecheck
	$(BIN)/pytest -q --durations=15

# BENCH_EVENTS=20000 make bench for a quick look; the figures in bench/results.md are
# from the default million.
BENCH_EVENTS ?= 1000000
bench: install tools
	$(BIN)/python bench/run.py --events $(BENCH_EVENTS) --out bench/results.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
