"""``search``, ``library index`` and ``from-text`` as a user runs them (subprocesses)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CLIP, ROOT

pytestmark = pytest.mark.slow  # CLI subprocesses, engine worker builds
MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "blender_motiondna", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_search_names_starter_clips_and_trials():
    done = run_cli("search", "a boxer throws punches", "--top", "8", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    files = [r for r in results if r["kind"] == "file"]
    assert files[0]["trial"] == "02_05" and os.path.isfile(files[0]["path"])
    assert any(r["kind"] == "trial" and r["fetch"].startswith("http://mocap.cs.cmu.edu/") for r in results)
    done = run_cli("search", "walk", "--files-only", "--max-duration", "3", "--rig", "cc_iclone", "--json")
    rows = json.loads(done.stdout)["results"]
    assert rows and all(r["duration"] <= 3 and r["rig"] == "cc_iclone" and r["kind"] == "file" for r in rows)


def test_library_index_then_search_it(tmp_path):
    shutil.copy(CLIP, tmp_path / "star_jumps.bvh")
    (tmp_path / "notes.txt").write_text("x")
    done = run_cli("library", "index", str(tmp_path), "--out", str(tmp_path / "lib.json"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["read"] == 1
    again = json.loads(run_cli("library", "index", str(tmp_path), "--out", str(tmp_path / "lib"), "--json").stdout)
    assert again["reused"] == 1 and again["read"] == 0
    found = json.loads(run_cli("search", "star jumps", "--library", str(tmp_path / "lib.json"), "--files-only",
                               "--json").stdout)["results"]
    assert found[0]["description"] == "star jumps"


def test_from_text_on_a_rig_file(tmp_path):
    done = run_cli("from-text", "jumping jacks", "--rig", MIXAMO_STYLE, "--out", str(tmp_path / "jj.mdna"),
                   "--bvh-out", str(tmp_path / "jj.bvh"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "14_14" in report["source"] and report["mapped_bones"] == 22
    info = json.loads(run_cli("info", str(tmp_path / "jj.mdna"), "--json").stdout)
    assert info["skeleton"]["joints"] == 22 and info["frames"] == 125


def test_from_text_on_an_armature_in_a_blend(tmp_path):
    blend = tmp_path / "rig.blend"
    script = (f"import bpy, sys; sys.path.insert(0, {ROOT!r})\n"
              "from blender_motiondna.bootstrap import load_extension_package; load_extension_package()\n"
              "import motiondna; motiondna.register(); from motiondna import api\n"
              "bpy.ops.wm.read_factory_settings(use_empty=True)\n"
              f"arm = api.import_bvh({MIXAMO_STYLE!r}); arm.name = 'Hero'\n"
              f"bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})\n")
    made = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    done = run_cli("from-text", "a boxer throws punches", "--blend", str(blend), "--armature", "Hero",
                   "--out", str(tmp_path / "box.mdna"), "--save", str(tmp_path / "out.blend"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["description"] == "punch/strike" and report["armature"] == "Hero"
    assert os.path.isfile(tmp_path / "box.mdna") and os.path.isfile(tmp_path / "out.blend")
    bad = run_cli("from-text", "walk", "--blend", str(blend), "--armature", "Nobody")
    assert bad.returncode == 1 and "no armature 'Nobody'" in bad.stderr


def test_from_text_usage_and_backend_errors(tmp_path):
    assert run_cli("from-text", "walk").returncode == 2
    assert run_cli("from-text", "walk", "--rig", MIXAMO_STYLE).returncode == 2
    unreachable = run_cli("from-text", "walk", "--rig", MIXAMO_STYLE, "--out", str(tmp_path / "w.mdna"),
                          "--backend-url", "http://127.0.0.1:9/generate")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
