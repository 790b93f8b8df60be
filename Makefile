# Two commands do all setup on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)

.PHONY: run test lint typecheck unit bench demo services browser vendor clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools reports every editable install ("Editable installation."): information, not a problem
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

## make run: start the hub on http://127.0.0.1:8000 (SQLite under var/, in-process bus)
run: $(STAMP)
	$(BIN)/switchboard serve

## make demo: the hub with demo data and a live stream of customer messages (var/demo.db)
demo: $(STAMP)
	SWITCHBOARD_DATABASE_URL=sqlite:///var/demo.db $(BIN)/switchboard serve --demo

services:
	@bash scripts/ensure-services.sh
	@bash scripts/install-dovecot.sh
	@bash scripts/install-browser.sh

## make test: lint, type-check and the whole suite (SQLite, PostgreSQL, Redis, browsers),
## one pytest-xdist worker per core (addopts in pyproject.toml; `pytest -n 0` for one process)
test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hub channels routing agent_ui bench
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest -m "not browser"

bench: $(STAMP) services
	$(BIN)/python bench/run.py

# Refetch the vendored front-end libraries (agent_ui/static/vendor/VENDOR.json) from
# the npm registry, checking their integrity; the files are committed.
vendor: $(STAMP)
	$(BIN)/python .ci/vendor.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
