# make run: serve the app.  make test: run every test in real browsers.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN = $(VENV)/bin

.PHONY: run test browser screenshots clean

run: $(VENV)/.installed-run
	@echo "Open http://$(HOST):$(PORT)/ in two browser tabs (or two browsers) and join the same room."
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: $(VENV)/.installed-test browser
	$(BIN)/python scripts/screenshots.py

browser: $(VENV)/.installed-test
	$(BIN)/python tests/chromium.py --install

$(VENV)/.installed-run: requirements.txt | $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

$(VENV):
	$(PYTHON) -m venv $(VENV)

clean:
	rm -rf $(VENV) test-results .pytest_cache
