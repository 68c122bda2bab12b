# Setup is idempotent: each step leaves a stamp and reruns only when its inputs change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
PLUGIN := audioscore/plugins/audioscore_pyin.so
PLUGIN_SOURCES := $(wildcard vamp/src/*.cpp vamp/src/*.h) vamp/Makefile

APT_PACKAGES := ffmpeg lilypond g++ make pkg-config vamp-plugin-sdk vamp-examples libfftw3-dev \
	libsndfile1 fluidsynth fluid-soundfont-gm poppler-utils fonts-wqy-microhei python3-venv python3-dev
# Only for the function images (make images, make test-images), as CONTAINERS.md installs them.
IMAGE_APT_PACKAGES := podman runc debootstrap

.PHONY: setup demo test bench lint plugin clean images test-images

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

# vamp's build needs numpy (and setuptools/wheel) already installed: no build isolation.
$(STAMPS)/venv: pyproject.toml $(STAMPS)/apt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "numpy>=2.0,<2.5" "setuptools>=65" wheel
	$(PY) -m pip install -q --no-build-isolation "vamp==1.1.0"
	$(PY) -m pip install -q -e ".[functions,test]"
	@touch $@

plugin: $(PLUGIN)

$(PLUGIN): $(PLUGIN_SOURCES) $(STAMPS)/apt
	$(MAKE) -s -C vamp
	@# Replace atomically: a running process may have the old library mapped.
	mkdir -p $(dir $@) && cp vamp/build/audioscore_pyin.so $@.tmp && mv -f $@.tmp $@

demo: setup
	$(VENV)/bin/audioscore transcribe examples/melody.ogg -o out/demo --title "Demo melody"

test: setup
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_long.py
	$(PY) bench/bench_fanout.py
	$(PY) bench/bench_transcribe.py
	$(PY) bench/corpus_report.py
	$(PY) bench/transcription_report.py

lint: setup
	$(VENV)/bin/ruff check audioscore tests bench images template

# The function images, built with podman from a local Debian base (images/builder.py).
images: $(STAMPS)/venv $(STAMPS)/apt-images
	$(PY) images/builder.py

# Builds the images (in the session's first fixture) and drives each function inside its container.
test-images: setup $(STAMPS)/apt-images
	$(VENV)/bin/pytest -q images/tests

clean:
	rm -rf vamp/build $(PLUGIN) out
