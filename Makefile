# MULI — two commands: `make run` (set up, migrate, seed the demo, serve with the worker and a
# mail sink) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test setup lint format translations messages migrate seed bench audit clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev,demo]'
	touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	@if ls staff_portal/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel -q compile -d staff_portal/translations; fi
	@if ls patient_app/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel -q compile -d patient_app/translations; fi

## The .po files in line with the code (new messages added untranslated, gone ones dropped);
## then translate the new bokmål entries. tests/unit/test_catalogues.py fails until they are.
messages: $(STAMP)
	$(PY) -m staff_portal.catalogues

migrate: setup
	$(FLASK) db upgrade heads

seed: migrate
	$(FLASK) muli seed-demo

## Set everything up on a fresh machine and run the demo on http://127.0.0.1:5000: the web app
## (serve.py: waitress, a front door slow clients cannot exhaust), the worker and a mail sink
## (mails in instance/mail/), all from the Procfile under honcho; one Ctrl-C stops all three.
run: seed
	./scripts/run-demo.sh

## Set up and run every test: lint, SQLite and PostgreSQL suites, browser tests
test: setup
	./scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	./benchmarks/run.sh

audit: setup
	$(PY) -m pip install -q bandit pip-audit
	$(VENV)/bin/bandit -q -r muli api staff_portal -lll
	$(VENV)/bin/pip-audit

clean:
	rm -rf $(VENV) instance .pytest_cache
