# Customer Propensity: the two Quickstart commands and a few helpers.
# `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CUSTOMERS ?= 2000
MONTHS ?= 24

.DEFAULT_GOAL := help
.PHONY: help setup browser jdbc pdf-tools quickstart test lint docs api dashboard bench-quality clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed ## create .venv and install the project (editable) with dev tools

quickstart: setup ## set up, generate sample data, ingest, dbt build, publish for serving
	$(BIN)/propensity run --customers $(CUSTOMERS) --months $(MONTHS)

browser: ## install Debian's chromium for the browser test (needs root and apt-get)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is not installed: the browser test will be skipped"

jdbc: ## install Debian's PostgreSQL JDBC driver for database sources (needs root and apt-get)
	@[ -f /usr/share/java/postgresql.jar ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -qq libpostgresql-jdbc-java >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpostgresql-jdbc-java >/dev/null; }; }; } \
		|| echo "PostgreSQL JDBC driver not installed: the database-source tests will be skipped"

pdf-tools: ## install Debian's poppler-utils (pdftotext, pdftoppm) for the report tests (needs root)
	@command -v pdftotext >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; }; }; } \
		|| echo "poppler-utils not installed: the report tests will be skipped"

test: setup browser jdbc pdf-tools lint ## lint, then run the whole test suite (unit, integration, end-to-end)
	$(BIN)/python -m pytest

# dbt parse and the sqlfluff dbt templater get their own state folder, never .propensity/
LINT_HOME := $(or $(TMPDIR),/tmp)/propensity-lint-$(shell id -u)
LINT_ENV := PROPENSITY_HOME=$(LINT_HOME) DBT_TARGET_PATH=$(LINT_HOME)/target DBT_LOG_PATH=$(LINT_HOME)/logs \
	SPARK_SHUFFLE_PARTITIONS=1 SPARK_MASTER=local[1]

lint: setup ## ruff, mypy, sqlfluff (dbt templater) and dbt-score >= 9.5
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ml serving pipeline
	$(LINT_ENV) $(BIN)/dbt parse --profiles-dir . --quiet
	$(BIN)/dbt-score lint --manifest $(LINT_HOME)/target/manifest.json
	$(LINT_ENV) $(BIN)/sqlfluff lint models analyses snapshots tests/singular

docs: setup ## generate and serve dbt docs (lineage) on http://localhost:8080
	$(BIN)/propensity dbt docs generate && $(BIN)/propensity dbt docs serve --port 8080

api: setup ## serve the FastAPI app on http://localhost:8000
	$(BIN)/propensity serve-api

dashboard: setup ## serve the Streamlit dashboard on http://localhost:8501
	$(BIN)/propensity dashboard

bench-quality: setup ## model-quality benchmark: model vs RFM, recency, BG/NBD, ceiling (~10 min)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/model_quality.py --customers 20000 --months 24

clean: ## delete generated state (.propensity/, target/, logs/)
	rm -rf .propensity target logs
