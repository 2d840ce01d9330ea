# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run   — install, migrate, load demo data, start web + worker (embedded defaults)
#   make test  — install and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000

.PHONY: run test install install-dev migrate demo web worker lint check bench clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# Embedded mode: SQLite and a folder object store under var/, kombu's filesystem broker,
# one `celery worker --beat` process next to the web server. Ctrl-C stops both.
run: export DEBUG ?= true
run: export ALLOW_PRIVATE_OUTBOUND ?= true
run: $(BIN)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo "Mint on http://127.0.0.1:$(PORT)  (demo login: demo@example.com / demo-password)"
	@# The trap is cleared first: `kill 0` signals this shell too, whose trap ran again and
	@# again until it crashed ("Segmentation fault" when stopping).
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A mint worker --beat --loglevel=INFO --pool=solo -Q extraction,categories,budgets,notifications \
	    --schedule var/celerybeat-schedule & \
	  $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload & \
	  wait

test: export DEBUG ?= true
test: export ALLOW_PRIVATE_OUTBOUND ?= true
test: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .

bench: $(BIN)/.installed-dev  # ingest and summary need DATABASE_URL=postgres://… (see bench/README.md)
	$(PY) bench/categorize.py
	$(PY) bench/ingest.py
	$(PY) bench/summary.py

clean:
	rm -rf var .pytest_cache
