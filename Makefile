# The two commands a new machine needs: `make run` and `make test`. Each makes .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench i18n

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Arbiter needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/arbiter serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile --durations=30  # the slowest tests listed, to keep CI short; the two cores; one file per worker keeps its fixtures together

bench: $(STAMP)
	$(BIN)/python bench/diagnosis.py

# Extract every message (templates, app, graph's summaries) and merge it into each language's
# catalog; then translate the new entries in app/i18n/locales/pl/LC_MESSAGES/messages.po.
I18N_KEYWORDS := -k N_ -k phrase -k counted:1,2
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --no-location --omit-header -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d app/i18n/locales -D messages --no-fuzzy-matching --ignore-obsolete
