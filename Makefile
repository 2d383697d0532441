# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export HUB_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test install lint unit clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python >= 3.11 is needed (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP)

## Migrate the embedded SQLite database, seed demo data once, serve on :5000.
run: $(STAMP)
	$(BIN)/hub db upgrade
	$(BIN)/hub demo seed --subjects 2000 --if-empty
	$(BIN)/hub run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Linters, type checks, import contracts, then the whole suite (SQLite and PostgreSQL).
test: lint
	$(BIN)/pytest --cov --cov-report=term:skip-covered

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
