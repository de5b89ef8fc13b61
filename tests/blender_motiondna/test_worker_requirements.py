"""requirements-worker.txt installs for every Python that Blender's "Set up Engine" makes
the engine venv from: 3.11 (Blender 4.2-5.0) and 3.13 (Blender 5.1+). pip resolves the
pins for each interpreter without installing anything (a dry run against the index)."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # asks the package index

REQUIREMENTS = os.path.join(ROOT, "requirements-worker.txt")


def interpreters():
    """One interpreter per Python minor version: the matrix venvs, this project's venv and
    the machine's python3.11 / python3.13."""
    found = {}
    candidates = sorted(glob.glob(os.path.join(ROOT, ".venvs", "*", "bin", "python")))
    candidates += [os.path.join(ROOT, ".venv", "bin", "python")]
    candidates += [shutil.which(name) for name in ("python3.11", "python3.13")]
    for python in candidates:
        if python and os.path.exists(python):
            done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True)
            if done.returncode == 0:  # a pyenv shim for a version that is not selected fails
                found.setdefault(done.stdout.strip(), python)
    return sorted(found.items())


@pytest.mark.parametrize("version,python", interpreters() or [pytest.param(None, None, marks=pytest.mark.skip)])
def test_worker_requirements_resolve_for(version, python, tmp_path):
    done = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                           "--quiet", "--report", str(tmp_path / "report.json"), "-r", REQUIREMENTS],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"Python {version}: {done.stderr[-2000:]}"
    import json
    with open(tmp_path / "report.json") as f:
        names = {i["metadata"]["name"].lower() for i in json.load(f)["install"]}
    assert {"torch", "numpy"} <= names
