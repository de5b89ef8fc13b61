# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Both create .venv with the pinned dependencies first; re-running is a no-op.
# `make test` is what CI runs: the suite in .venv (Blender 5.0's bpy module and the test and
# benchmark extras) and in the oldest and newest Blender of the version matrix; `make
# test-blender` runs all four.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

# The Blender releases the add-on is tested on (bpy module of each, see tools/blender_venv.sh):
# 4.2 LTS, 4.5 LTS, 5.0 and the newest on PyPI. CI runs the first and the last.
BLENDER_VERSIONS ?= 4.2.23 4.5.15 5.0.1 5.3.0
CI_BLENDER_VERSIONS := 4.2.23 5.3.0

.PHONY: demo test test-main test-fast test-blender lint package bench venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python -m blender_motiondna demo

test: test-main
	$(MAKE) test-blender BLENDER_VERSIONS="$(CI_BLENDER_VERSIONS)"

test-main: $(STAMP) lint
	$(VENV)/bin/python -m pytest -q tests

# The suite without the tests marked slow (worker processes, README examples, packaging).
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The extension zip, built by Blender's own extension tool, in out/package/.
package: $(STAMP)
	$(VENV)/bin/python tools/package.py

# The suite in each Blender's own packages (bpy, numpy; no torch, no scipy), the engine
# worker included: it runs in that same Python, as it does in Blender. Tests that compare
# with scipy or smplx skip there.
test-blender: $(STAMP)
	@set -e; for v in $(BLENDER_VERSIONS); do \
	  py=$$(tools/blender_venv.sh $$v); \
	  echo "== Blender $$v ($$py)"; \
	  env -u MOTIONDNA_ENGINE_PYTHON $$py -m pytest -q tests; \
	done

bench: $(STAMP)
	$(VENV)/bin/python -m engine.eval.benchmark --out out/benchmark

clean:
	rm -rf out build .venvs
