# make run: serve the app.  make test: run every test in real browsers.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN = $(VENV)/bin

.PHONY: run test browser iptables screenshots clean

run: $(VENV)/.installed-run
	@echo "Open http://$(HOST):$(PORT)/ in two browser tabs (or two browsers) and join the same room."
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test browser iptables
	$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: $(VENV)/.installed-test browser
	$(BIN)/python scripts/screenshots.py

browser: $(VENV)/.installed-test
	$(BIN)/python tests/chromium.py --install

# The ICE restart test cuts a call's network paths with iptables (as root); without it,
# that test is skipped and says why.
iptables:
	@command -v ip6tables >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables) >/dev/null || true

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
