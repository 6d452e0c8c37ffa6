# Two entry points: `make run` (install + start the app on the demo catalog) and `make test`.
# Everything installs into .venv; torch and torchvision come pinned from this machine's wheel cache.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install install-test chromium bench demo-catalog

$(VENV)/.app-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.app-installed requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

install: $(VENV)/.app-installed

install-test: $(VENV)/.test-installed

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Two workers, a test module each (its server, Chromium and fixtures stay in one process): much of the suite waits on
# servers and background jobs, which the second worker overlaps (a fresh-clone .ci/run took 11 min on an Intel Xeon).
TEST_WORKERS ?= 2

test: install-test chromium
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=20

bench: install-test
	$(PY) bench/embed_text.py
	$(PY) bench/embed_images.py
	$(PY) bench/duplicates.py
	$(PY) bench/knn.py
	$(PY) bench/projection.py

demo-catalog:
	$(PYTHON) assets/build_demo_catalog.py
	$(PYTHON) assets/build_demo_behaviour.py
