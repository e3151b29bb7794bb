# make run: serve the app.  make run-lan: serve it to the LAN over https.
# make serve: serve it for real (gunicorn; WORKERS=n with FLASK_REDIS_URL).  make test: run every test in real browsers.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
# Sockets one worker holds at once (two per call), and how many workers (make serve).
CONNECTIONS ?= 2500
WORKERS ?= 1
BIN = $(VENV)/bin

.PHONY: run run-lan serve test test-quick browser packages lab-delay firefox-driver mermaid-check screenshots translations translations-update clean

run: $(VENV)/.installed-run translations
	@echo "Open http://$(HOST):$(PORT)/ in two browser tabs (or two browsers) and join the same room."
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

# Other computers only get the camera on a secure page: https, with a self-signed
# certificate made on the first run (browsers warn about it once).
# The app answers only to the host names it trusts: here, this computer's addresses and name.
LAN_HOSTS = import json, socket, subprocess; found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split(); \
  name = socket.gethostname(); print(json.dumps(["localhost", "127.0.0.1", "[::1]", name, name + ".local", \
  *(f"[{a}]" if ":" in a else a for a in found)]))

run-lan: $(VENV)/.installed-run translations .lan/cert.crt
	@echo "On another computer, open https://<this computer's LAN address>:$(PORT)/ and accept the certificate warning."
	FLASK_TRUSTED_HOSTS='$(shell $(PYTHON) -c '$(LAN_HOSTS)')' \
	  $(BIN)/flask --app app run --host 0.0.0.0 --port $(PORT) --cert .lan/cert.crt --key .lan/cert.key

.lan/cert.crt: | $(VENV)/.installed-run
	mkdir -p .lan
	$(BIN)/python -c "from werkzeug.serving import make_ssl_devcert; make_ssl_devcert('.lan/cert', host='*')"

# gunicorn's gevent worker: a greenlet per socket relays at 2-3 times the rate of threads
# (README, Performance). One worker keeps the rooms in its memory; more need them in Redis:
# make serve WORKERS=4 FLASK_REDIS_URL=redis://127.0.0.1:6379/0. Behind a TLS proxy
# (deploy/nginx.conf), set FLASK_ECHO_SERVER_URL=ws://127.0.0.1:$(PORT) so echo peers skip it.
serve: $(VENV)/.installed-run translations
	@[ "$(WORKERS)" = 1 ] || [ -n "$$FLASK_REDIS_URL" ] || \
	  (echo "WORKERS=$(WORKERS) needs FLASK_REDIS_URL: each worker would have rooms of its own"; exit 1)
	$(BIN)/gunicorn --worker-class gevent --worker-connections $(CONNECTIONS) --workers $(WORKERS) \
	  --bind $(HOST):$(PORT) 'app:create_app()'

test: $(VENV)/.installed-test translations browser packages lab-delay firefox-driver mermaid-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The core while you work, in under a minute: the wire protocol and its bad frames, private
# rooms (in memory), and one call between two browsers.
QUICK = tests/test_signaling.py tests/test_resilience.py::test_a_bad_frame_gets_an_error_and_the_call_goes_on \
  tests/test_private_calls.py tests/test_call.py::test_two_people_see_and_hear_each_other
test-quick: $(VENV)/.installed-test translations browser
	$(BIN)/python -m pytest -q -k "not redis and not scanner" $(QUICK) $(PYTEST_ARGS)

# The Korean screenshots need a Korean font (Debian: fonts-nanum), or the text shows as boxes.
screenshots: $(VENV)/.installed-test translations browser
	@fc-list :lang=ko | grep -q . || (echo "no Korean font: apt-get install fonts-nanum"; exit 1)
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/step_screenshots.py

browser: $(VENV)/.installed-test
	$(BIN)/python tests/chromium.py --install

# As root, install the Debian packages some tests need: iptables (the ICE restart test cuts
# a call's paths with it), coturn (the TURN tests), redis-server and nginx (the scale-out and
# deployment tests), firefox-esr and Node.js with npm (the Firefox tests, tests/firefox.py),
# libnetfilter-queue-dev (the network lab's delay where the kernel has no netem).
# Without them those tests are skipped and say why.
NFQUEUE_HEADER = /usr/include/libnetfilter_queue/libnetfilter_queue.h
packages:
	@missing="$$(command -v ip6tables >/dev/null || echo iptables) $$(command -v turnserver >/dev/null || echo coturn) \
	  $$(command -v redis-server >/dev/null || echo redis-server) $$(command -v nginx >/dev/null || echo nginx) \
	  $$(command -v firefox-esr >/dev/null || echo firefox-esr) $$(command -v node >/dev/null || echo nodejs) \
	  $$(command -v npm >/dev/null || echo npm) \
	  $$([ -e $(NFQUEUE_HEADER) ] || echo libnetfilter-queue-dev)"; \
	  [ -z "$$(echo $$missing)" ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing) >/dev/null || true

# NetfilterQueue (a C extension: it needs libnetfilter-queue-dev and a compiler), with which
# the network lab delays a link on kernels without netem (tests/delay_line.py). Without it
# the lab's bad link has its loss and bandwidth but no delay, and the test says so.
lab-delay: packages $(VENV)/.installed-test
	@$(BIN)/python -c "import netfilterqueue" 2>/dev/null || \
	  [ ! -e $(NFQUEUE_HEADER) ] || \
	  $(BIN)/pip install -q -r requirements-lab.txt || echo "NetfilterQueue did not build: no delay in the lab"

# puppeteer-core, which drives Firefox for the tests, as tests/firefox-driver/package-lock.json
# pins it (again only when the lockfile changes). Without npm the Firefox tests are skipped.
FIREFOX_DRIVER = tests/firefox-driver
firefox-driver: packages
	@if ! command -v npm >/dev/null; then echo "npm is missing: the Firefox tests will be skipped"; \
	elif [ ! $(FIREFOX_DRIVER)/node_modules/.package-lock.json -nt $(FIREFOX_DRIVER)/package-lock.json ]; then \
	  cd $(FIREFOX_DRIVER) && npm ci --no-audit --no-fund --loglevel=error; fi

# The pages in Korean: Flask-Babel reads the compiled catalog (.mo) of translations/ko.
# After changing a sentence in the code, `make translations-update` adds it to the catalog
# (and drops the ones no longer used); translate it there (tests/test_languages.py checks).
CATALOGS = $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations: $(CATALOGS)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed-run
	$(BIN)/pybabel compile -l $* -i $< -o $@

translations-update: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k t --add-location=file --no-wrap \
	  --project=webrtc-call --version=1 -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete -N
	rm translations/messages.pot

# Mermaid's parser, which tests/test_tutorial_docs.py loads into Chromium to check that every
# diagram of the README and the tutorial parses, as tests/mermaid-check/package-lock.json pins
# it. Without npm that test is skipped.
MERMAID_CHECK = tests/mermaid-check
mermaid-check: packages
	@if ! command -v npm >/dev/null; then echo "npm is missing: the diagrams will not be checked"; \
	elif [ ! $(MERMAID_CHECK)/node_modules/.package-lock.json -nt $(MERMAID_CHECK)/package-lock.json ]; then \
	  cd $(MERMAID_CHECK) && npm ci --no-audit --no-fund --loglevel=error; fi

$(VENV)/.installed-run: requirements.txt | $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

$(VENV):
	$(PYTHON) -m venv $(VENV)

clean:
	rm -rf $(VENV) test-results .pytest_cache .lan
