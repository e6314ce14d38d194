# The two commands a newcomer needs: `make serve` runs LocalSpot, `make test` lints and runs the tests.
# Both create the virtualenv and install pinned dependencies first, so a fresh machine needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint format bench clean

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

clean:
	rm -rf $(VENV) build *.egg-info localspot.db
