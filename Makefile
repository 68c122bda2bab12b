# Setup is idempotent: each step leaves a stamp and reruns only when its inputs change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
PLUGIN := audioscore/plugins/audioscore_pyin.so
PLUGIN_SOURCES := $(wildcard vamp/src/*.cpp vamp/src/*.h) vamp/Makefile
# The polyphonic engine's model (Apache-2.0): the wheel ships the .onnx file. --no-deps: on Linux
# with Python 3.11 its wheel requires TensorFlow, which the ONNX path never imports; what that path
# needs (onnxruntime, soxr) is in pyproject.toml. The function image installs the same pin.
BASIC_PITCH := basic-pitch==0.4.0

APT_PACKAGES := ffmpeg lilypond g++ make pkg-config vamp-plugin-sdk vamp-examples libfftw3-dev \
	libsndfile1 fluidsynth fluid-soundfont-gm poppler-utils fonts-wqy-microhei python3-venv python3-dev musescore3 \
	chromium chromium-driver
# Only for the function images (make images, make test-images), as CONTAINERS.md installs them.
IMAGE_APT_PACKAGES := podman runc debootstrap
# Only for make bench: callgrind counts the plugin's instructions.
BENCH_APT_PACKAGES := valgrind

.PHONY: setup demo test bench lint plugin clean images test-images tools

setup: $(STAMPS)/apt $(STAMPS)/venv $(PLUGIN)

# $(call apt_install,packages,apt-get options): install those missing, then stamp the target.
define apt_install
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing; \
	fi
	@mkdir -p $(STAMPS) && touch $@
endef

$(STAMPS)/apt: Makefile
	$(call apt_install,$(APT_PACKAGES),--no-install-recommends)

$(STAMPS)/apt-images: Makefile
	$(call apt_install,$(IMAGE_APT_PACKAGES),)

$(STAMPS)/apt-bench: Makefile
	$(call apt_install,$(BENCH_APT_PACKAGES),--no-install-recommends)

# vamp's build needs numpy (and setuptools/wheel) already installed: no build isolation.
$(STAMPS)/venv: pyproject.toml $(STAMPS)/apt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "numpy>=2.0,<2.5" "setuptools>=65" wheel
	$(PY) -m pip install -q --no-build-isolation "vamp==1.1.0"
	$(PY) -m pip install -q -e ".[functions,test]"
	$(PY) -m pip install -q --no-deps "$(BASIC_PITCH)"
	@touch $@

# Go tools from pinned module versions (`go install`, never prebuilt binaries), into a
# project-local GOBIN; the module and build caches make a rerun a few seconds. The
# Go module proxy here refuses the OpenFaaS modules (403 "This module version is not
# available", for tags, commits and pseudo-versions alike): scripts/go-tools.sh records
# each refusal in .tools/unavailable/<tool> and the tests that need that tool skip
# with the recorded error instead of failing the set-up.
GO ?= /usr/local/go/bin/go
TOOLS := .tools
GO_TOOLS := \
	github.com/openfaas/of-watchdog@a265b19f6e058c8bd8a2adb4e601b9783a87b452 \
	github.com/openfaas/faas-cli@65e53aa0a046155658db536732e272b14c81739e \
	github.com/openfaas/nats-queue-worker@169b3ef160d1f8e0e1665ff68e6c8229d3c51a36
# github.com/nats-io/nats-streaming-server@v0.25.6 builds here (140 s), but only the queue
# worker would use it: it joins the list when that builds.

tools: $(STAMPS)/tools

$(STAMPS)/tools: Makefile scripts/go-tools.sh
	GO=$(GO) TOOLS=$(TOOLS) bash scripts/go-tools.sh $(GO_TOOLS)
	@mkdir -p $(STAMPS) && touch $@

plugin: $(PLUGIN)

$(PLUGIN): $(PLUGIN_SOURCES) $(STAMPS)/apt
	$(MAKE) -s -C vamp
	@# Replace atomically: a running process may have the old library mapped.
	mkdir -p $(dir $@) && cp vamp/build/audioscore_pyin.so $@.tmp && mv -f $@.tmp $@

demo: setup
	$(VENV)/bin/audioscore transcribe examples/melody.ogg -o out/demo --title "Demo melody"
	@# A polyphonic example: a tune over an Alberti bass (tests/support/poly_corpus.py, examples/piano.mid).
	$(VENV)/bin/audioscore transcribe examples/piano.ogg -o out/demo-piano --instrument piano --title "Demo piano"

test: setup
	$(VENV)/bin/pytest -q

bench: setup $(STAMPS)/apt-bench
	$(PY) bench/bench_startup.py
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_long.py
	$(PY) bench/bench_fanout.py
	$(PY) bench/bench_transcribe.py
	$(PY) bench/corpus_report.py
	$(PY) bench/transcription_report.py
	$(PY) bench/realistic_report.py
	$(PY) bench/plugin_instructions.py
	$(PY) bench/notation_report.py
	$(PY) bench/edge_report.py
	$(PY) bench/poly_report.py
	$(PY) bench/poly_notation_report.py
	$(PY) bench/poly_score_report.py

# The gate .ci/run starts with: ruff (rules in pyproject.toml) and mypy on the package.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The function images, built with podman from a local Debian base (images/builder.py).
images: $(STAMPS)/venv $(STAMPS)/apt-images
	$(PY) images/builder.py

# Builds the images (in the session's first fixture) and drives each function inside its container.
test-images: setup $(STAMPS)/apt-images
	$(VENV)/bin/pytest -q images/tests

clean:
	rm -rf vamp/build $(PLUGIN) out
