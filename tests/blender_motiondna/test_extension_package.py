"""The repository packs into a valid Blender extension that installs, enables and toggles.

Uses Blender's own extension tool (bl_pkg/cli/blender_ext.py) to validate and build, then
installs the zip with ``bpy.ops.extensions.package_install_files`` in a fresh interpreter
whose user folders (HOME, BLENDER_USER_*) all point into a temporary directory."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import CLIP, ENGINE_PYTHON, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
from package import blender_ext_tool  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "bl_ext.user_default.motiondna"


def run_tool(*args):
    return subprocess.run([sys.executable, blender_ext_tool(), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("ext_build")
    done = run_tool("build", "--source-dir", ROOT, "--output-dir", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    zips = list(out.glob("*.zip"))
    assert len(zips) == 1, f"expected one package, found {zips}"
    return zips[0]


def test_manifest_validates():
    done = run_tool("validate", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_package_holds_the_code_and_nothing_else(built_zip):
    with zipfile.ZipFile(built_zip) as z:
        names = z.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    for needed in ("__init__.py", "blender_manifest.toml", "engine", "blender_motiondna", "operators", "panels"):
        assert needed in tops, f"package misses {needed}"
    for path in ("engine/worker/server.py", "engine/worker/protocol.py", "blender_motiondna/worker_client.py"):
        assert path in names
    for excluded in ("tests", ".venv", "docs", "Makefile", ".git", ".ci", "pytest.ini",
                     "requirements.txt", "out", "build", "motiondna.py", ".venvs", "tools",
                     "CHANGELOG.md"):
        assert excluded not in tops, f"package must not contain {excluded}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


# Runs in a fresh interpreter with redirected user folders; prints one JSON report line.
INSTALL_SCRIPT = r'''
import atexit, json, os, sys
BLOCKED = ("torch", "scipy", "matplotlib")  # stock Blender has none of them
for name in BLOCKED:
    sys.modules[name] = None  # any import of them fails

import bpy, addon_utils

zip_path, module, engine_python, clip, work = sys.argv[1:6]
report = {"errors": []}
OWNERS = (bpy.types.Object, bpy.types.Scene, bpy.types.Armature, bpy.types.WindowManager)


def snapshot():
    classes = sorted(n for n in dir(bpy.types) if n.startswith("MDNA_"))
    props = sorted(f"{t.__name__}.{p.identifier}" for t in OWNERS for p in t.bl_rna.properties
                   if p.identifier.startswith("mdna"))
    handlers = {name: len(getattr(bpy.app.handlers, name)) for name in dir(bpy.app.handlers)
                if isinstance(getattr(bpy.app.handlers, name), list)}
    enabled = module in bpy.context.preferences.addons
    return {"classes": classes, "props": props, "handlers": handlers, "enabled": enabled,
            "loaded": bool(addon_utils.check(module)[1])}


def on_error(ex):
    report["errors"].append(f"{type(ex).__name__}: {ex}")


report["before"] = snapshot()
report["user_extensions"] = bpy.utils.user_resource('EXTENSIONS')
try:
    report["install"] = sorted(bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo='user_default', enable_on_install=True))
except Exception as ex:
    on_error(ex)
report["installed"] = snapshot()
report["package_dir"] = os.path.dirname(sys.modules[module].__file__) if module in sys.modules else None
report["cycles"] = []
for _ in range(2):
    addon_utils.disable(module, default_set=True, handle_error=on_error)
    off = snapshot()
    on = addon_utils.enable(module, default_set=True, handle_error=on_error) is not None
    report["cycles"].append({"off": off, "on": snapshot(), "enable_returned": on})

# The installed copy's worker client starts the worker from the installed files.
client_mod = __import__(module + ".blender_motiondna.worker_client", fromlist=["WorkerClient"])
client = client_mod.WorkerClient(python=engine_python)
try:
    report["ping"] = client.call("ping", timeout=60)
finally:
    client.shutdown()
addon_utils.disable(module, default_set=True, handle_error=on_error)
report["final"] = snapshot()

# A user's whole session in the installed copy: the one-line API import, build (the worker
# runs elsewhere), a target, generate, a live drag, the quality report, a bake.
addon_utils.enable(module, default_set=True, handle_error=on_error)
from motiondna import api
report["api_module"] = api.__name__
live = sys.modules[module + ".blender_motiondna.scene.live"]
arm = api.import_bvh(clip)
bpy.context.view_layer.objects.active = arm
# No python=: the worker runs in the default engine interpreter ($MOTIONDNA_ENGINE_PYTHON if
# set, else this one), where torch, scipy and matplotlib are blocked as well.
blocker = os.path.join(work, "blocker")
os.makedirs(blocker)
with open(os.path.join(blocker, "sitecustomize.py"), "w") as f:
    f.write(f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n")
os.environ["PYTHONPATH"] = blocker
report["build"] = api.build_generator(arm)["size_bytes"]
report["build_ping"] = client_mod.get_client().call("ping", timeout=60)
empty = api.add_target(arm, "RightWrist", frame=61)
empty.location.z += 0.15 * arm.dimensions.z / 1.7
report["generated"] = api.generate(arm).name


def wrist_gap():
    bpy.context.scene.frame_set(61)
    return (arm.matrix_world @ arm.pose.bones["RightWrist"].head - empty.matrix_world.translation).length / arm.dimensions.z


report["gap_after_generate"] = wrist_gap()
report["live_on"] = sorted(bpy.ops.mdna.live_toggle())
empty.location.x += 0.1 * arm.dimensions.z / 1.7
bpy.context.view_layer.update()
report["live_flushed"] = sorted(live.flush())
report["gap_after_drag"] = wrist_gap()
report["play_live"] = api.play_live(arm, {0: [("RightWrist", tuple(empty.matrix_world.translation), None)]},
                                    frames=30).name
report["report_op"] = sorted(bpy.ops.mdna.quality_report())
report["quality"] = json.loads(arm.mdna.report)
shot = os.path.join(work, "shot.blend")
bpy.ops.wm.save_as_mainfile(filepath=shot)
report["bake"] = api.bake_blend(shot, out=os.path.join(work, "baked.blend"))
report["variations_op"] = sorted(bpy.ops.mdna.generate_variations(frames=200, seed=2, count=2))
report["variations"] = sorted(a.name for a in bpy.data.actions if ".var" in a.name)
report["blocked_loaded"] = [n for n in BLOCKED if sys.modules.get(n) is not None]
print("REPORT " + json.dumps(report))
# The bpy module of Blender 4.2 crashes in interpreter finalization once add-on properties
# with Python callbacks were registered: run the exit hooks and leave without it.
atexit._run_exitfuncs()
sys.stdout.flush()
os._exit(0)
'''


@pytest.fixture(scope="module")
def install_report(built_zip, tmp_path_factory):
    home = tmp_path_factory.mktemp("blender_home")
    res = home / "blender_user"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER_", "PYTHONPATH"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               BLENDER_USER_RESOURCES=str(res), BLENDER_USER_CONFIG=str(res / "config"),
               BLENDER_USER_SCRIPTS=str(res / "scripts"), BLENDER_USER_EXTENSIONS=str(res / "extensions"))
    script = home / "install_addon.py"
    script.write_text(INSTALL_SCRIPT)
    # cwd and the script's folder are the temp home: the repository is not importable there,
    # so only the installed copy can be what loads.
    work = home / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, str(script), str(built_zip), MODULE, ENGINE_PYTHON, CLIP, str(work)],
                          cwd=str(home), env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("REPORT ")]
    assert done.returncode == 0 and lines, f"install script failed (exit {done.returncode}):\n{output[-4000:]}"
    report = json.loads(lines[-1][len("REPORT "):])
    report["output"], report["home"] = output, str(home)
    return report


def test_install_enables_the_addon(install_report):
    r = install_report
    assert r["errors"] == []
    assert r["install"] == ["FINISHED"]
    assert r["user_extensions"].startswith(r["home"])  # nothing touched the real user folders
    assert r["package_dir"] and r["package_dir"].startswith(os.path.join(r["user_extensions"], "user_default"))
    assert not r["before"]["enabled"] and r["before"]["classes"] == []
    assert r["installed"]["enabled"] and r["installed"]["loaded"]
    assert "MDNA_OT_build_generator" in r["installed"]["classes"]


def test_disable_enable_twice_leaves_nothing_behind(install_report):
    r = install_report
    before, installed = r["before"], r["installed"]
    assert len(r["cycles"]) == 2
    for cycle in r["cycles"]:
        off, on = cycle["off"], cycle["on"]
        assert not off["enabled"] and not off["loaded"]
        assert off["classes"] == before["classes"] == [], f"classes left registered: {off['classes']}"
        assert off["props"] == before["props"], f"properties left registered: {off['props']}"
        assert off["handlers"] == before["handlers"], "app handlers left registered"
        assert cycle["enable_returned"] and on["enabled"] and on["loaded"]
        assert on["classes"] == installed["classes"] and on["props"] == installed["props"]
    final = r["final"]
    assert not final["enabled"] and final["classes"] == [] and final["props"] == before["props"]
    assert r["errors"] == []
    assert "Traceback" not in r["output"], r["output"][-4000:]


def test_installed_copy_runs_the_worker(install_report):
    ping = install_report["ping"]
    assert ping["numpy"] and ping["pid"] > 0
    assert ping["engine_dir"] == os.path.join(install_report["package_dir"], "engine")


def test_stock_blender_session_without_torch_scipy_matplotlib(install_report):
    """Enabling, building (in the worker of the default engine interpreter), a target,
    generate, a live drag, Play Live over a schedule, the quality report, a bake and variations, with torch, scipy
    and matplotlib unimportable here and, in the worker, not imported."""
    r = install_report
    assert r["errors"] == [] and r["blocked_loaded"] == []
    ping = r["build_ping"]
    assert ping["executable"] == ENGINE_PYTHON and ping["engine_dir"].startswith(r["package_dir"]) and ping["torch"] is None
    assert r["api_module"] == MODULE + ".blender_motiondna.api"  # ``from motiondna import api``
    assert r["build"] > 0 and r["generated"].endswith(".mdna")
    assert r["gap_after_generate"] < 0.02                # reached (body-height fractions)
    assert r["live_on"] == ["FINISHED"] and r["live_flushed"]
    assert r["gap_after_drag"] < 0.02                    # the live drag re-baked the keys
    assert r["play_live"].endswith(".live")              # Play Live as a function: a new action
    assert r["report_op"] == ["FINISHED"] and r["quality"]["targets"] == 1
    (baked,) = r["bake"]["armatures"]
    assert baked["targets"] == 1 and baked["action"].endswith(".mdna") and not baked["unreached"]
    assert r["variations_op"] == ["FINISHED"] and [n[-5:] for n in r["variations"]] == [".var2", ".var3"]
