# make run: the demo on SQLite at http://127.0.0.1:5000 — make test: everything CI runs.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install translations chromium pg-client bench screenshots clean \
        migrate seed create-unit create-user import-work-items backup shell

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d app/translations

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

# pg_dump and pg_restore, for the backup tests on PostgreSQL
pg-client:
	@command -v pg_dump >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql-client; }

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# Administration, on a fresh clone as on a server: each installs first, then runs the app's command in the
# virtualenv with the settings of the environment (DATABASE_URL, ZHUCUN_INSTANCE). ARGS are the command's own.
migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

create-unit: migrate
	$(FLASK) create-unit $(ARGS)

create-user: migrate
	$(FLASK) create-user $(ARGS)

import-work-items: migrate
	$(FLASK) import-work-items $(ARGS)

backup: install
	@[ -n "$(DEST)" ] || { echo 'make backup DEST=FOLDER-OR-FILE [ARGS=--overwrite]'; exit 2; }
	$(FLASK) backup $(DEST) $(ARGS)

shell: install
	$(FLASK) shell

test: install chromium pg-client
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -q

bench: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/run_all.py

screenshots: install chromium
	@fc-list :lang=zh | grep -q . || $(SUDO) apt-get install -y -q fonts-noto-cjk
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
