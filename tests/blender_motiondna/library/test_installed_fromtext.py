"""From a fresh install of the extension zip: "jumping jacks" and "a boxer throws punches"
find starter-library clips, go onto a Mixamo-style rig and build working generators,
through the panel's operators (in the background) and the API; the zip carries the
library and the embedding model and stays small."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ENGINE_PYTHON, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
from package import blender_ext_tool  # noqa: E402

pytestmark = pytest.mark.slow
MODULE = "bl_ext.user_default.motiondna"
MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")
MAX_ZIP_MB = 25.0

SCRIPT = r'''
import atexit, json, os, sys
for name in ("torch", "scipy", "matplotlib", "wordllama", "bm25s", "tokenizers"):
    sys.modules[name] = None  # stock Blender has none of them
import bpy, addon_utils
zip_path, module, engine_python, rig = sys.argv[1:5]
report = {"install": sorted(bpy.ops.extensions.package_install_files(filepath=zip_path, repo='user_default',
                                                                       enable_on_install=True))}
from motiondna import api
report["package_dir"] = os.path.dirname(sys.modules[module].__file__)
os.environ["MOTIONDNA_ENGINE_PYTHON"] = engine_python
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, load_ui=False)  # keeps the add-on
arm = api.import_bvh(rig)
bpy.context.view_layer.objects.active = arm
settings = bpy.context.scene.mdna_text
settings.prompt = "jumping jacks"
report["search"] = sorted(bpy.ops.mdna.text_search())
report["top"] = [settings.results[0].description, settings.results[0].path]
report["preview"] = sorted(bpy.ops.mdna.text_preview())
report["build"] = sorted(bpy.ops.mdna.text_build())
report["generator"] = api.has_generator(arm)
report["variation"] = api.generate_variation(arm, frames=90, seed=1).name
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, load_ui=False)  # keeps the add-on
arm = api.import_bvh(rig)
box = api.generator_from_text(arm, "a boxer throws punches")
report["boxer"] = [box["description"], box["source"], box["mapped_bones"], api.has_generator(arm)]
print("REPORT " + json.dumps(report))
atexit._run_exitfuncs()
sys.stdout.flush()
os._exit(0)
'''


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("ext_build")
    done = subprocess.run([sys.executable, blender_ext_tool(), "build", "--source-dir", ROOT, "--output-dir", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return next(out.glob("*.zip"))


def test_zip_carries_the_library_and_stays_small(built_zip):
    with zipfile.ZipFile(built_zip) as z:
        names = set(z.namelist())
    assert "data/library/starter.json" in names and "data/library/wordllama/l2_supercat_256.safetensors" in names
    assert len([n for n in names if n.startswith("data/library/starter/") and n.endswith(".bvh.gz")]) == 47
    assert os.path.getsize(built_zip) / 1e6 < MAX_ZIP_MB


def test_fresh_install_from_text(built_zip, tmp_path):
    home = tmp_path / "home"
    res = home / "blender_user"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER_", "PYTHONPATH", "MOTIONDNA_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               BLENDER_USER_RESOURCES=str(res), BLENDER_USER_CONFIG=str(res / "config"),
               BLENDER_USER_SCRIPTS=str(res / "scripts"), BLENDER_USER_EXTENSIONS=str(res / "extensions"))
    home.mkdir()
    script = home / "from_text.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(built_zip), MODULE, ENGINE_PYTHON, MIXAMO_STYLE],
                          cwd=str(home), env=env, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("REPORT ")]
    assert done.returncode == 0 and lines, (done.stdout + done.stderr)[-4000:]
    r = json.loads(lines[-1][len("REPORT "):])
    assert r["install"] == ["FINISHED"] and r["package_dir"].startswith(str(res))
    assert "jumping jacks" in r["top"][0] and r["top"][1].startswith(r["package_dir"])
    assert r["search"] == r["preview"] == r["build"] == ["FINISHED"] and r["generator"]
    assert r["variation"].endswith(".var1")
    assert r["boxer"][0] == "punch/strike" and "02_05" in r["boxer"][1] and r["boxer"][2] == 22 and r["boxer"][3]
