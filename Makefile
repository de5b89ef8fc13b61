# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Both create .venv with the pinned dependencies first; re-running is a no-op.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python -m blender_motiondna demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests

bench: $(STAMP)
	$(VENV)/bin/python -m engine.benchmark --out out/benchmark

clean:
	rm -rf out build
