# The two commands a newcomer needs: `make serve` runs LocalSpot, `make test` lints and runs the tests.
# Both create the virtualenv and install pinned dependencies first, so a fresh machine needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint format bench coverage clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/localspot serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

format: $(STAMP)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

test: lint
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# The benchmark (issue 4): SQLite at 10,000 and 1,000,000 records, PostgreSQL when reachable; writes
# docs/benchmarks.md and docs/benchmarks.png. BENCH_SIZES=small for a quick run; see bench/run.py.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

# The implementation-coverage ledger (issue 5): HubSpot's CRM operations from the installed SDKs, marked
# implemented or not by LocalSpot's routes. Run it after adding routes; a test fails while it is stale.
coverage: $(STAMP)
	$(BIN)/python scripts/coverage_ledger.py docs/coverage.md

clean:
	rm -rf $(VENV) build *.egg-info localspot.db
