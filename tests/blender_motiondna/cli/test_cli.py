"""The CLI as a user runs it: ``python -m blender_motiondna build|generate`` in a subprocess."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import CLIP, ROOT

pytestmark = pytest.mark.slow  # engine worker processes and CLI subprocesses



def digest(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "blender_motiondna", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def slow_build_env():
    """The environment for a CLI whose builds wait (cancellably) once started, as a long
    clip's would: the bundled clip builds too fast to be interrupted midway on purpose."""
    from motiondna.engine.worker import server
    return dict(os.environ, **{server.TEST_BUILD_PAUSE_ENV: "60"})


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "jj.mdna"
    done = run_cli("build", "--clip", CLIP, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["size_bytes"] == os.path.getsize(out) > 0
    return out


def test_generate_keeps_file_conventions_and_reaches_target(generator_path, tmp_path):
    from motiondna.engine.io import bvh
    from motiondna.engine.motion import metrics
    source = bvh.read_bvh(CLIP)
    motion = source.to_motion()
    positions = motion.positions()
    joint = "RightWrist"
    j = motion.skeleton.index(joint)
    frame = 60
    cm = 0.01 / metrics.metres_per_unit(motion.skeleton, motion.translations)  # docs/evaluation.md scaling
    goal = positions[frame, j] + np.eye(3)[motion.skeleton.up_axis] * 25 * cm
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"targets": [{"joint": joint, "frame": frame, "position": goal.tolist()}]}))
    out = tmp_path / "out.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP,
                   "--targets", str(targets), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result = bvh.read_bvh(str(out))
    assert result.names == source.names
    assert list(result.parents) == list(source.parents)
    assert len(result.frames) == len(source.frames)
    assert result.frame_time == pytest.approx(source.frame_time)
    generated = result.to_motion(up_axis=motion.skeleton.up_axis).positions()
    span = motion.skeleton.span()
    # Frame 0 is the input's frame 0; the target is reached in the file's own coordinates.
    assert np.abs(generated[0] - positions[0]).max() < 1e-3 * span
    assert np.linalg.norm(generated[frame, j] - goal) < 3 * cm


def test_generate_without_targets_reconstructs(generator_path, tmp_path):
    from motiondna.engine.io import bvh
    from motiondna.engine.motion import metrics
    out = tmp_path / "same.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", str(out))
    assert done.returncode == 0, done.stderr
    source = bvh.read_bvh(CLIP).to_motion()
    generated = bvh.read_bvh(str(out)).to_motion(up_axis=source.skeleton.up_axis)
    cm = 0.01 / metrics.metres_per_unit(source.skeleton, source.translations)
    err = np.linalg.norm(generated.positions() - source.positions(), axis=-1).mean() / cm
    assert err < 5.0, f"reconstruction {err:.2f} cm"


@pytest.mark.parametrize("case", ["missing_clip", "bad_json", "unknown_joint", "frame_outside", "corrupt_generator"])
def test_bad_input_exits_1_with_message(case, generator_path, tmp_path):
    targets = tmp_path / "t.json"
    gen = str(generator_path)
    clip = CLIP
    if case == "missing_clip":
        clip = str(tmp_path / "nope.bvh")
        targets.write_text('{"targets": []}')
    elif case == "bad_json":
        targets.write_text("{not json")
    elif case == "unknown_joint":
        targets.write_text('{"targets": [{"joint": "Tail", "frame": 3, "position": [0, 0, 0]}]}')
    elif case == "frame_outside":
        targets.write_text('{"targets": [{"joint": "Head", "frame": 9999, "position": [0, 0, 0]}]}')
    elif case == "corrupt_generator":
        data = open(gen, "rb").read()
        gen = str(tmp_path / "cut.mdna")
        open(gen, "wb").write(data[: len(data) // 2])
        targets.write_text('{"targets": []}')
    done = run_cli("generate", "--generator", gen, "--clip", clip, "--targets", str(targets), "--out", str(tmp_path / "o.bvh"))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.strip().splitlines()[-1].startswith("motiondna: error:")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.bvh").exists()


def test_bad_arguments_exit_2():
    done = run_cli("build", "--clip")
    assert done.returncode == 2
    assert run_cli("--help").returncode == 0


# ---------------------------------------------------------------------------------------
# batch build, info, bench, bake, usage errors

QUICK = ("--set", "candidates=8")  # a non-default setting, to see it reach every generator


def run_json(*args, expect=0):
    done = run_cli(*args, "--json")
    assert done.returncode == expect, (done.returncode, done.stderr[-3000:])
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    """Two clips (copies of the bundled one) and a broken file, built as one batch."""
    d = tmp_path_factory.mktemp("batch")
    for name in ("walk_a", "walk_b"):
        (d / f"{name}.bvh").write_bytes(open(CLIP, "rb").read())
    (d / "broken.bvh").write_text("not a bvh\n")
    (d / "clips.txt").write_text("# shots for the batch\nwalk_b.bvh\nbroken.bvh\n")
    result = run_json("build", str(d / "walk_a.bvh"), "--list", str(d / "clips.txt"),
                      "--out-dir", str(d / "out"), "--jobs", "2", *QUICK, expect=1)
    return d, result


def test_batch_build_runs_in_parallel_and_reports_each_clip(batch_dir):
    from motiondna.engine.io import generator_file
    d, result = batch_dir
    by_name = {os.path.basename(i["input"]): i for i in result["items"]}
    assert [os.path.basename(i["input"]) for i in result["items"]] == ["walk_a.bvh", "walk_b.bvh", "broken.bvh"]
    for name in ("walk_a", "walk_b"):
        item = by_name[f"{name}.bvh"]
        assert item["status"] == "done" and item["output"] == str(d / "out" / f"{name}.mdna")
        arrays, meta = generator_file.load(item["output"])
        assert meta["settings"]["candidates"] == 8 and arrays["jumps"].shape[1] == 8
        assert item["info"]["size_bytes"] == os.path.getsize(item["output"]) and item["info"]["smooth_jumps"] > 0
    broken = by_name["broken.bvh"]
    assert broken["status"] == "failed" and broken["exit_code"] == 1 and "not a BVH file" in broken["error"]
    assert not (d / "out" / "broken.mdna").exists()
    assert result["summary"] == {**result["summary"], "done": 2, "failed": 1, "skipped": 0, "total": 3, "jobs": 2}


def test_batch_build_resumes_and_prints_a_table(batch_dir):
    d, _ = batch_dir
    done = run_cli("build", str(d / "walk_*.bvh"), "--out-dir", str(d / "out"), *QUICK)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split() == ["status", "input", "output", "seconds", "notes"]
    assert [ln.split()[0] for ln in lines[2:4]] == ["skipped", "skipped"]
    assert lines[-1].startswith("0 done, 2 skipped, 0 failed of 2")


def test_batch_stale_and_broken_outputs_are_redone(tmp_path):
    from motiondna.blender_motiondna.cli import batch
    clip = tmp_path / "c.bvh"
    clip.write_text("x")
    out = tmp_path / "c.mdna"
    out.write_bytes(b"half a file")
    item = batch.Item(str(clip), str(out))
    assert not batch.finished(item, batch.valid_generator)          # corrupt output: redo
    assert not batch.finished(batch.Item(str(clip), str(tmp_path / "none.mdna")), batch.valid_generator)
    assert batch.finished(item, lambda p: True)
    os.utime(clip, (os.path.getmtime(out) + 10,) * 2)                # input edited after the output
    assert not batch.finished(item, lambda p: True)


def test_batch_inputs_are_checked_before_anything_runs(tmp_path):
    from motiondna.blender_motiondna.cli import batch
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for sub in ("a", "b"):
        (tmp_path / sub / "take.bvh").write_text("x")
    with pytest.raises(ValueError, match="would both write"):
        batch.plan(batch.expand_inputs([str(tmp_path / "*" / "take.bvh")]), str(tmp_path / "out"), ".mdna")
    with pytest.raises(ValueError, match="matches no file"):
        batch.expand_inputs([str(tmp_path / "*.fbx")])
    with pytest.raises(ValueError, match="expected a .blend"):
        batch.expand_inputs([str(tmp_path / "a" / "take.bvh")], suffixes=(".blend",))
    done = run_cli("build", str(tmp_path / "nothing*.bvh"), "--out-dir", str(tmp_path / "o"))
    assert done.returncode == 1 and "matches no file" in done.stderr


def test_info_reads_a_generator_with_numpy_only(batch_dir):
    d, _ = batch_dir
    path = str(d / "out" / "walk_a.mdna")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "blender_motiondna", "info", path, "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {ln.split("|")[-1].strip().split(".")[0] for ln in done.stderr.splitlines() if ln.startswith("import time:")}
    assert "torch" not in imported and "numpy" in imported
    info = json.loads(done.stdout)
    assert info["frames"] == 125 and info["skeleton"]["joints"] == 31 and info["fps"] == pytest.approx(30.003, abs=1e-3)
    from motiondna.engine.io import generator_file
    assert info["format_version"] == generator_file.VERSION and info["size_bytes"] == os.path.getsize(path)
    assert len(info["source_hash"]) == 64 and info["settings"]["candidates"] == info["graph"]["candidates"] == 8
    assert info["graph"]["smooth_jumps"] > 0 and "RightWrist" in info["dna"]["effectors"]
    text = run_cli("info", path, "--joints")
    assert text.returncode == 0 and "125 frames" in text.stdout and "LeftShoulder" in text.stdout
    assert f"{info['graph']['smooth_jumps']} smooth transitions" in text.stdout and "network" not in text.stdout
    bad = d / "bad.mdna"
    bad.write_bytes(b"PK\x03\x04 nonsense")
    done = run_cli("info", str(bad))
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("motiondna: error: bad.mdna")


def test_bench_wraps_the_engine_benchmark(tmp_path):
    out = tmp_path / "bench"
    info = run_json("bench", "--quick", "--no-shared", "--clips", CLIP, "--edits", "2",
                    "--methods", "replay,ikwarp", "--out", str(out))
    report = json.load(open(out / "benchmark.json"))
    assert info["summary"] == report["summary"] and set(report["summary"]) >= {"replay", "ikwarp"}
    assert report["settings"]["edits"] == 2 and (out / "benchmark.md").is_file()
    assert run_cli("bench", "--methods", "magic").returncode == 2


def test_bench_accepts_every_option_of_the_engine_benchmark():
    import re
    engine_help = subprocess.run([sys.executable, "-m", "engine.eval.benchmark", "--help"], cwd=ROOT,
                                 capture_output=True, text=True).stdout
    ours = run_cli("bench", "--help").stdout
    assert set(re.findall(r"--[a-z][a-z-]+", engine_help)) <= set(re.findall(r"--[a-z][a-z-]+", ours))


@pytest.mark.parametrize("args", [
    ("build", "--clip", CLIP),                                   # --out missing
    ("build", CLIP),                                             # batch without --out-dir
    ("build", "--clip", CLIP, "--out", "x.mdna", "--out-dir", "d"),
    ("build", CLIP, "--out-dir", "d", "--jobs", "0"),
    ("bake", "x.blend"),                                         # no destination
    ("bake", "x.blend", "--out", "a.blend", "--in-place"),
    ("info",),
    ("frobnicate",),
])
def test_bad_arguments_exit_2_with_usage(args):
    done = run_cli(*args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "usage: motiondna" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command", ["build", "generate", "bake", "bench", "info", "demo"])
def test_every_command_has_help(command):
    done = run_cli(command, "--help")
    assert done.returncode == 0 and done.stdout.startswith(f"usage: motiondna {command}")


# -- bake ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shots(batch_dir, tmp_path_factory):
    """Two .blend shots, each an imported clip with a generator and a raised hand target,
    and one .blend without a generator, made in a child process (as an artist's files)."""
    d = tmp_path_factory.mktemp("shots")
    script = d / "make.py"
    script.write_text(f"""
import sys, bpy
sys.path.insert(0, {ROOT!r})
from blender_motiondna.bootstrap import load_extension_package
load_extension_package().register()
from motiondna.blender_motiondna import api
from motiondna.blender_motiondna.cli.common import reset_scene
for name, lift in (("shot_010", 0.2), ("shot_020", 0.35)):
    reset_scene()
    arm = api.import_bvh({CLIP!r})
    api.load_generator(arm, {str(batch_dir[0] / "out" / "walk_a.mdna")!r})
    api.add_target(arm, "RightWrist", frame=61).location.z += lift
    bpy.ops.wm.save_as_mainfile(filepath=str({str(d)!r}) + "/" + name + ".blend")
reset_scene()
api.import_bvh({CLIP!r})
bpy.ops.wm.save_as_mainfile(filepath={str(d / "plain.blend")!r})
""")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return d


def read_baked(path):
    """(active action, wrist-to-target distance at the target frame, all actions) of a .blend."""
    import bpy

    from motiondna.blender_motiondna.scene import targets
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    (empty,) = targets.target_empties(arm)
    bpy.context.scene.frame_set(empty.mdna_target.frame)
    gap = (arm.matrix_world @ arm.pose.bones["RightWrist"].head - empty.matrix_world.translation).length
    return arm.animation_data.action.name, gap, sorted(a.name for a in bpy.data.actions)


@pytest.fixture
def addon():
    import motiondna
    registered = False
    import bpy
    if not hasattr(bpy.types.Object, "mdna"):
        motiondna.register()
        registered = True
    yield
    if registered:
        motiondna.unregister()


def test_bake_one_file_regenerates_to_a_new_action(shots, tmp_path, addon):
    out = tmp_path / "baked" / "shot_010.blend"
    before = os.path.getmtime(shots / "shot_010.blend")
    result = run_json("bake", str(shots / "shot_010.blend"), "--out", str(out))
    (item,) = result["items"]
    assert item["status"] == "done" and out.is_file()
    (arm,) = item["info"]["armatures"]
    assert arm["targets"] == 1 and arm["skipped"] == [] and arm["frames"] == 125
    assert os.path.getmtime(shots / "shot_010.blend") == before        # the input is not touched
    active, gap, actions = read_baked(out)
    assert active == "jumping_jacks.mdna" and actions == ["jumping_jacks", "jumping_jacks.mdna"]
    assert gap < 0.01                                                   # world units (m): within 1 cm
    _, gap_source, _ = read_baked(shots / "shot_010.blend")
    assert gap_source > 0.1                                             # the source pose misses the target


def test_bake_batch_in_child_processes_resumes_and_fails_per_file(shots, tmp_path):
    (shots / "notes.blend").write_text("not a blend file")
    pattern = str(shots / "*.blend")
    result = run_json("bake", pattern, "--out-dir", str(tmp_path / "baked"), "--jobs", "2", expect=1)
    status = {os.path.basename(i["input"]): (i["status"], i["error"]) for i in result["items"]}
    assert status["shot_010.blend"] == ("done", "") and status["shot_020.blend"] == ("done", "")
    assert status["notes.blend"][0] == "failed" and "not a .blend file" in status["notes.blend"][1]
    assert status["plain.blend"][0] == "failed" and "no armature with a MotionDNA generator" in status["plain.blend"][1]
    done = {os.path.basename(i["input"]): i for i in result["items"] if i["status"] == "done"}
    assert done["shot_020.blend"]["info"]["armatures"][0]["targets"] == 1
    again = run_json("bake", str(shots / "shot_0*.blend"), "--out-dir", str(tmp_path / "baked"))
    assert [i["status"] for i in again["items"]] == ["skipped", "skipped"]
    (shots / "notes.blend").unlink()


def test_bake_in_place_twice_keeps_one_result_action(shots, tmp_path, addon):
    import shutil
    path = tmp_path / "shot.blend"
    shutil.copy(shots / "shot_020.blend", path)
    before = digest(path)
    for _ in range(2):
        result = run_json("bake", str(path), "--in-place", "--jobs", "1")
        assert result["items"][0]["status"] == "done"
    original = tmp_path / "shot.mdna-orig.blend"
    assert digest(original) == before  # the second bake kept the first original
    assert result["items"][0]["info"]["original"] == str(original)
    assert run_json("bake", str(tmp_path / "*.blend"), "--in-place", "--jobs", "1")["summary"]["done"] == 1
    assert digest(original) == before  # globbed originals are not baked
    active, gap, actions = read_baked(path)
    assert actions == ["jumping_jacks", "jumping_jacks.mdna"] and active == "jumping_jacks.mdna" and gap < 0.01
    done = run_cli("bake", str(path), "--in-place", "--armature", "Nobody", "--json")
    assert done.returncode == 1 and "no armature with a generator named 'Nobody'" in json.loads(done.stdout)["items"][0]["error"]


def test_blender_command_entry_point_returns_exit_codes(batch_dir, addon, capfd, monkeypatch):
    """What ``blender --command motiondna ...`` calls: the handler the add-on registers with
    ``bpy.utils.register_cli_command``, given the arguments after the id; an int back."""
    import bpy

    from motiondna.blender_motiondna import cli
    assert cli._cli_handle is not None                          # registered with the add-on
    registered = {}

    def spy(command_id, handler):
        registered[command_id] = handler
        return real_register(command_id, handler)

    real_register = bpy.utils.register_cli_command
    monkeypatch.setattr(bpy.utils, "register_cli_command", spy)
    cli.unregister_command()
    cli.register_command()
    handler = registered["motiondna"]
    assert handler(["info", str(batch_dir[0] / "out" / "walk_b.mdna"), "--json"]) == 0
    assert json.loads(capfd.readouterr().out)["frames"] == 125
    assert handler(["info", str(batch_dir[0] / "missing.mdna")]) == 1
    assert handler(["build"]) == 2
    assert handler(["--help"]) == 0 and "bake" in capfd.readouterr().out


def test_ctrl_c_cancels_a_batch_and_leaves_no_output(tmp_path):
    import signal
    import time
    clip = tmp_path / "long.bvh"
    clip.write_bytes(open(CLIP, "rb").read())
    # As at a terminal: SIGINT's default disposition. A test run started in the background
    # (`make test &`) inherits SIGINT ignored, and Python then leaves it ignored.
    proc = subprocess.Popen([sys.executable, "-m", "blender_motiondna", "build", str(clip), "--out-dir",
                             str(tmp_path / "out"), "--json"],
                            cwd=ROOT, env=slow_build_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    seen = ""
    while "building:" not in seen and time.monotonic() < deadline:  # the build has started
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    (item,) = json.loads(out)["items"]
    assert item["status"] == "cancelled" and not (tmp_path / "out" / "long.mdna").exists()


def test_build_takes_an_fbx_clip(tmp_path):
    """build imports any motion file Blender reads (here FBX made from the bundled BVH)."""
    import bpy

    from motiondna.blender_motiondna import api
    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    arm = api.import_bvh(CLIP)
    bpy.ops.object.select_all(action='DESELECT')
    arm.select_set(True)
    bpy.context.view_layer.objects.active = arm
    fbx = tmp_path / "jacks.fbx"
    bpy.ops.export_scene.fbx(filepath=str(fbx), use_selection=True, add_leaf_bones=False)
    done = run_cli("build", "--clip", str(fbx), "--out", str(tmp_path / "jacks.mdna"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    info = api.generator_file_info(tmp_path / "jacks.mdna")
    assert info["frames"] == 125 and info["skeleton"]["joints"] == len(arm.pose.bones)
    bad = run_cli("build", "--clip", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "x.mdna"))
    assert bad.returncode == 1 and "no such clip" in bad.stderr


def test_no_command_writes_over_one_of_its_inputs(generator_path, tmp_path):
    """--out naming an input (also through a link) is refused before any work, and every
    input keeps its bytes."""
    import shutil
    clip = tmp_path / "clip.bvh"
    shutil.copy(CLIP, clip)
    gen = tmp_path / "g.mdna"
    shutil.copy(generator_path, gen)
    targets = tmp_path / "t.json"
    targets.write_text('{"targets": []}')
    link = tmp_path / "link.bvh"
    link.symlink_to(clip)
    before = {p: digest(p) for p in (clip, gen, targets)}
    cases = [("generate", "--generator", str(gen), "--clip", str(clip), "--out", str(out)) for out in (clip, link, gen)]
    cases += [("generate", "--generator", str(gen), "--clip", str(clip), "--targets", str(targets), "--out", str(targets)),
              ("build", "--clip", str(clip), "--out", str(clip)), ("build", "--clip", str(clip), "--out", str(link))]
    for args in cases:
        done = run_cli(*args)
        assert done.returncode == 2 and "--out is the" in done.stderr, (args, done.stderr)
    assert {p: digest(p) for p in before} == before


def test_outputs_that_cannot_be_files_are_refused_before_work(generator_path, tmp_path):
    gen = generator_path
    (tmp_path / "folder").mkdir()
    for args in (("build", "--clip", CLIP, "--out", str(tmp_path / "folder")),
                 ("generate", "--generator", str(gen), "--clip", CLIP, "--out", ""),
                 ("generate", "--generator", str(gen), "--clip", CLIP, "--out", str(tmp_path / "folder"))):
        done = run_cli(*args)
        assert done.returncode == 1 and ("is a folder" in done.stderr or "output path is empty" in done.stderr), done.stderr
        assert "Traceback" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["folder"] and os.listdir(tmp_path / "folder") == []  # no temporaries left


def test_input_errors_the_engine_would_meet_are_exit_1_before_it_runs(tmp_path):
    """Bad settings and too-short clips are the user's to fix: one clear line, exit 1, no
    engine traceback, and nothing written."""
    lines = open(CLIP).read().split("\n")
    at = lines.index("MOTION")
    short = tmp_path / "short.bvh"
    short.write_text("\n".join(lines[:at + 1] + ["Frames: 2", lines[at + 2]] + lines[at + 3:at + 5]) + "\n")
    for args, message in ((("--clip", CLIP, "--set", "half_life_s=-1"), "settings.half_life_s must be positive"),
                          (("--clip", CLIP, "--set", "steps=300"), "unknown generator setting(s): steps"),
                          (("--clip", CLIP, "--set", "candidates=many"), "settings.candidates must be int"),
                          (("--clip", str(short)), "the clip has 2 frame(s)")):
        done = run_cli("build", *args, "--out", str(tmp_path / "g.mdna"))
        assert done.returncode == 1, done.stderr[-2000:]
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("motiondna")]
        assert errors == [f"motiondna: error: {errors[0].split('error: ', 1)[1]}"] and message in errors[0]
        assert "Traceback" not in done.stderr and not (tmp_path / "g.mdna").exists()


def test_a_malformed_setting_is_a_usage_error():
    done = run_cli("build", "--clip", CLIP, "--out", "g.mdna", "--set", "half_life_s")
    assert done.returncode == 2 and "--set takes KEY=VALUE, got 'half_life_s'" in done.stderr


def test_a_named_engine_python_that_does_not_work_is_not_replaced(tmp_path):
    no_numpy = tmp_path / "python-without-numpy"
    no_numpy.write_text("#!/bin/sh\nexit 1\n")
    no_numpy.chmod(0o755)
    for python, why in ((tmp_path / "missing-python", "is not an executable file"), (no_numpy, "cannot import numpy")):
        done = run_cli("build", "--clip", CLIP, "--out", str(tmp_path / "g.mdna"), "--python", str(python))
        assert done.returncode == 3 and str(python) in done.stderr and why in done.stderr, done.stderr[-1500:]
        assert "--python PATH" in done.stderr and not (tmp_path / "g.mdna").exists()


def test_a_generator_at_another_frame_rate_is_refused(generator_path, tmp_path):
    """A 30 fps generator on the same clip stored at 120 fps would play 4x too fast."""
    lines = open(CLIP).read().split("\n")
    at = lines.index("MOTION")
    lines[at + 2] = "Frame Time: 0.008333"
    fast = tmp_path / "jacks_120.bvh"
    fast.write_text("\n".join(lines))
    done = run_cli("generate", "--generator", str(generator_path), "--clip", str(fast), "--out", str(tmp_path / "o.bvh"))
    assert done.returncode == 1 and "built at 30 fps" in done.stderr and "120 fps" in done.stderr, done.stderr[-1500:]
    assert not (tmp_path / "o.bvh").exists()


def test_ctrl_c_during_one_build_leaves_no_temporary_files(tmp_path):
    import signal
    import time
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(slow_build_env(), TMPDIR=str(temp))
    proc = subprocess.Popen([sys.executable, "-m", "blender_motiondna", "build", "--clip", CLIP, "--out",
                             str(tmp_path / "g.mdna")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    seen = ""
    while "building:" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert not (tmp_path / "g.mdna").exists()
    # No build folder (mdna_build_*), nor Blender's session folder (torch keeps its cache there).
    assert [p for p in os.listdir(temp) if not p.startswith("torchinductor_")] == []


def test_a_frame_time_blender_cannot_play_fails_its_item_not_the_batch(tmp_path):
    lines = open(CLIP).read().split("\n")
    at = lines.index("MOTION")
    lines[at + 2] = "Frame Time: 1e-300"
    (tmp_path / "a_bad.bvh").write_text("\n".join(lines))
    (tmp_path / "b_good.bvh").write_bytes(open(CLIP, "rb").read())
    done = run_cli("build", str(tmp_path / "*.bvh"), "--out-dir", str(tmp_path / "out"), "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    items = {os.path.basename(i["input"]): i for i in json.loads(done.stdout)["items"]}
    assert items["b_good.bvh"]["status"] == "done"
    assert items["a_bad.bvh"]["status"] == "failed" and "Frame Time 1e-300" in items["a_bad.bvh"]["error"]


def test_the_demo_writes_what_the_readme_says(tmp_path):
    import importlib.util
    done = run_cli("demo", "--out-dir", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout)
    assert max(info["target_errors_cm"]) < 1.0 and info["build_wall_seconds"] > 0 and info["smooth_jumps"] > 0
    from motiondna.engine.io import bvh
    assert bvh.read_bvh(info["bvh"]).num_frames == 125 and os.path.getsize(info["blend"]) > 0
    if importlib.util.find_spec("matplotlib"):
        assert info["png"] and os.path.getsize(info["png"]) > 10_000
    else:  # stock Blender: no picture, the rest as usual
        assert info["png"] is None


@pytest.mark.parametrize("edit,field", [(lambda h: h["meta"].update(fps=0), "'fps' is 0"),
                                        (lambda h: h["meta"]["graph"].pop("half_life_s"), "'graph.half_life_s' is None"),
                                        (lambda h: h.update(arrays=None), "'arrays' must be an object")])
def test_info_on_a_crafted_file_names_the_field(generator_path, tmp_path, edit, field):
    import zipfile
    crafted = tmp_path / "crafted.mdna"
    with zipfile.ZipFile(generator_path) as zin, zipfile.ZipFile(crafted, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "header.json":
                header = json.loads(data)
                edit(header)
                data = json.dumps(header).encode()
            zout.writestr(item, data)
    done = run_cli("info", str(crafted))
    assert done.returncode == 1 and "crafted.mdna" in done.stderr and field in done.stderr, done.stderr[-1000:]
    assert "Traceback" not in done.stderr


def test_generate_reports_an_unreached_target_with_its_miss(generator_path, tmp_path):
    targets = tmp_path / "t.json"
    targets.write_text(json.dumps({"targets": [{"joint": "RightWrist", "frame": 60, "position": [0, 200, 0]}]}))
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--targets", str(targets),
                   "--out", str(tmp_path / "o.bvh"), "--json")
    assert done.returncode == 0, done.stderr[-1500:]
    (miss,) = json.loads(done.stdout)["unreached"]
    assert miss["joint"] == "RightWrist" and miss["error_cm"] > 100


def test_export_onnx_writes_the_step_and_the_planner(generator_path, tmp_path):
    """``export-onnx``: two models the reference player plays; without onnx (Blender's own
    Python) one line and exit 1."""
    import importlib.util
    out = tmp_path / "jj.onnx"
    done = run_cli("export-onnx", str(generator_path), "--out", str(out), "--json")
    if importlib.util.find_spec("onnx") is None:
        assert done.returncode == 1 and "needs the onnx package" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["step"] == str(out) and info["decide"] == str(tmp_path / "jj.decide.onnx")
    assert info["step_bytes"] == os.path.getsize(out) and info["decide_bytes"] == os.path.getsize(info["decide"])
    assert run_cli("export-onnx", str(generator_path), "--out", str(tmp_path / "jj.bin")).returncode == 2
    if importlib.util.find_spec("onnxruntime") is not None:
        session = tmp_path / "session.json"
        session.write_text(json.dumps({"frames": 40, "targets": [{"reveal": 0, "joint": 5, "frame": 30,
                                                                  "position": [0.0, 0.0, 0.0]}]}))
        played = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "onnx_player.py"), str(out),
                                 str(session), str(tmp_path / "poses.npz")], capture_output=True, text=True, timeout=120)
        assert played.returncode == 0, played.stderr
        assert np.load(tmp_path / "poses.npz")["rotations"].shape[:2] == (40, 31)
