# The two commands a person needs: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest pytest-pg bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock -e '.[test]'
	@touch $(STAMP)

## Run the bot. With no token configured it starts the demo: sandbox + bot + demo clinic.
run: $(STAMP)
	@$(BIN)/homecare db upgrade
	@$(BIN)/homecare run

## Lint, type-check, then the whole suite on SQLite and (when PostgreSQL is installed) on PostgreSQL.
test: $(STAMP) lint typecheck pytest pytest-pg

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@bash scripts/ensure-chromium.sh
	@echo "=== pytest on SQLite ==="
	$(BIN)/pytest -q

pytest-pg: $(STAMP)
	@echo "=== pytest on PostgreSQL ==="
	@bash scripts/with-postgres.sh $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/planner.py
	$(BIN)/python bench/delivery.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
