# Two commands do all set-up on a fresh Debian machine (see README):
#   make demo   installs into .venv, takes the models out of the pinned wheel, detects on a sample scan
#   make test   the same install, then the test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
BIN     = $(VENV)/bin
WHEELS  = build/wheels

.PHONY: venv models demo test bench speed campaign clean install

# systemd-python is added where libsystemd's headers are installed; elsewhere the built-in sd_notify sender
# and plain logging are used (both are tested).
EXTRAS := test$(shell pkg-config --exists libsystemd 2>/dev/null && echo ,systemd)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

venv: $(VENV)/.installed

# Install time, not run time: the pinned rapidocr wheel is fetched once, hash-checked, and its ONNX files are
# extracted and checked against models/manifest.toml. Nothing is downloaded when ocrwatchd runs.
models: venv
	$(BIN)/ocrwatchd models install --wheel-dir $(WHEELS)

demo: models
	mkdir -p build/demo
	$(BIN)/ocrwatchd detect tests/data/sample-scan.jpg -o build/demo/sample-scan.json \
		--visualize build/demo/sample-scan.boxes.jpg --overwrite
	$(PY) -c "import json; r = json.load(open('build/demo/sample-scan.json')); \
		print(len(r['pages'][0]['lines']), 'lines on', r['model']['provider'], 'in', r['timings']['total'], 's ->', \
		'build/demo/sample-scan.json, build/demo/sample-scan.boxes.jpg')"

test: models
	$(PY) -m pytest -q

bench: models
	$(PY) bench/memory.py

# Speed against Tesseract (and RapidOCR where RAPIDOCR_PYTHON names its venv's python), where the time goes,
# daemon throughput (bench/speed.py, README "Speed and memory"), read-ahead on multi-page PDFs
# (bench/readahead.py, README "Documents"); about 30 minutes on 2 cores.
RAPIDOCR_PYTHON ?=
speed: models
	$(PY) bench/speed.py --set all $(if $(RAPIDOCR_PYTHON),--rapidocr-python $(RAPIDOCR_PYTHON))
	$(PY) bench/readahead.py

# The reliability campaign (bench/campaign.py, README "Reliability campaign"): kill -9 anywhere, a dead host,
# 10,000 files, bad input, full disks; about an hour on 2 cores. Its short version runs in `make test`.
campaign: models
	$(PY) bench/campaign.py

clean:
	rm -rf $(VENV) build bench/out .pytest_cache

# Install as a service (run as root on Debian): venv in $(PREFIX), models in /usr/share/ocrwatchd/models,
# unit, sysusers entry, example config (never overwriting an existing one). DESTDIR stages into a folder.
PREFIX  ?= /opt/ocrwatchd
DESTDIR ?=
# The service's venv is built on Debian's interpreter: a user-local one (pyenv under /root) is not reachable
# by the ocrwatchd user.
SYSTEM_PYTHON ?= /usr/bin/python3
MODELS   = $(DESTDIR)/usr/share/ocrwatchd/models

install:
	if command -v apt-get >/dev/null && [ -z "$(DESTDIR)" ]; then \
		apt-get install -y -qq --no-install-recommends python3-venv python3-dev gcc pkg-config libsystemd-dev; fi
	rm -rf $(DESTDIR)$(PREFIX)/venv
	$(SYSTEM_PYTHON) -m venv $(DESTDIR)$(PREFIX)/venv
	$(DESTDIR)$(PREFIX)/venv/bin/pip install --quiet --upgrade pip
	$(DESTDIR)$(PREFIX)/venv/bin/pip install --quiet '.[systemd]'
	install -d $(MODELS) $(DESTDIR)/etc/ocrwatchd $(DESTDIR)/etc/systemd/system $(DESTDIR)/usr/lib/sysusers.d
	install -m 0644 models/manifest.toml $(MODELS)/manifest.toml
	$(DESTDIR)$(PREFIX)/venv/bin/ocrwatchd models install --manifest $(MODELS)/manifest.toml --wheel-dir $(WHEELS) \
		--calibration models/calibration
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/README.md
	install -d $(DESTDIR)$(PREFIX)/docs && install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/docs/
	install -m 0644 systemd/ocrwatchd.service $(DESTDIR)/etc/systemd/system/ocrwatchd.service
	install -m 0644 systemd/ocrwatchd.sysusers $(DESTDIR)/usr/lib/sysusers.d/ocrwatchd.conf
	[ -e $(DESTDIR)/etc/ocrwatchd/ocrwatchd.toml ] || install -m 0640 etc/ocrwatchd.toml $(DESTDIR)/etc/ocrwatchd/ocrwatchd.toml
	if [ -z "$(DESTDIR)" ]; then systemd-sysusers /usr/lib/sysusers.d/ocrwatchd.conf; \
		chgrp ocrwatchd /etc/ocrwatchd/ocrwatchd.toml; systemctl daemon-reload 2>/dev/null || true; fi
	@echo "installed; next: edit /etc/ocrwatchd/ocrwatchd.toml, grant the inboxes (systemctl edit ocrwatchd), systemctl enable --now ocrwatchd"
