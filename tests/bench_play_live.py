"""Play Live's cost per frame in the bpy module (a benchmark, not a test).

    .venv/bin/python tests/bench_play_live.py [--bones 65] [--frames 300] [--play 600] [--json]

The rig of tests/bench_live.py (the cmu_iclone_cc punch clip pruned to ``--bones`` bones,
its first ``--frames`` frames, 60 fps; a synthetic rig when ../shared is absent), its
generator built in the worker. Each scenario starts a session at frame 1 and plays
``--play`` scene frames with ``scene.frame_set`` (what the timeline does on each frame),
so the frame_change_post handler runs as in playback. Timed per frame: the handler (read
the target empties, set the stream's targets when they changed, step, pose the bones),
wall clock and this thread's CPU time (the machine may be shared), and the whole
``frame_set`` (Blender's own evaluation of the rig included). Scenarios: ``clip`` (no
target), ``held`` (a hand empty, "now and on"), ``keyed`` (a hand empty keyed at one frame
ahead, replanned as it nears), ``ball`` (an animated empty: new targets every frame).
Goal: <= 5 ms per frame (handler)."""
import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_live  # noqa: E402  (registers the extension, builds the rig)
import bpy  # noqa: E402
import numpy as np  # noqa: E402

from motiondna.blender_motiondna import worker_client  # noqa: E402
from motiondna.blender_motiondna.scene import build, play_live, targets  # noqa: E402

SCENARIOS = ("clip", "held", "keyed", "ball")


def setup(bones, frames):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shared = os.path.isdir(os.path.join(bench_live._shared_dir(), "motions"))
    arm, rig = bench_live.iclone_rig(bones, frames) if shared else bench_live.synthetic_rig(bones, frames)
    build.build_generator(arm)
    names = [b.name for b in arm.data.bones]
    hand = next((n for n in names if "hand" in n.lower()), names[-1])
    return arm, {"rig": rig, "bones": len(names), "frames": frames, "fps": bpy.context.scene.render.fps, "joint": hand}


def add_scenario(arm, joint, scenario, play):
    """The target empty of a scenario (None for ``clip``)."""
    if scenario == "clip":
        return None
    scene = bpy.context.scene
    scene.frame_set(1)
    height = arm.dimensions.z
    empty = targets.add_target(arm, joint, frame=1)
    empty.location.z += 0.1 * height
    if scenario == "keyed":
        frame = 1 + play // 2
        empty.location = targets.bone_head_world(arm, joint, frame)
        empty.location.z += 0.15 * height
        empty.keyframe_insert("location", frame=frame)
    elif scenario == "ball":
        start = np.array(empty.location)
        for k, frame in enumerate(range(1, play + 1, 10)):
            angle = 2 * np.pi * k / 12
            empty.location = start + 0.1 * height * np.array([np.cos(angle), np.sin(angle), 0.3 * np.sin(2 * angle)])
            empty.keyframe_insert("location", frame=frame)
    return empty


def run(arm, joint, scenario, play):
    scene = bpy.context.scene
    empty = add_scenario(arm, joint, scenario, play)
    scene.frame_set(1)
    cpu = []
    update = play_live.update

    def timed(armature, frame):
        began = time.thread_time()
        pose = update(armature, frame)
        cpu.append((time.thread_time() - began) * 1000)
        return pose
    play_live.update = timed
    totals = []
    try:
        session = play_live.start(arm)
        cpu.clear()
        session.timings.clear()
        for f in range(2, play + 1):
            began = time.perf_counter()
            scene.frame_set(f)
            totals.append((time.perf_counter() - began) * 1000)
    finally:
        play_live.update = update
        play_live.stop(arm)
        if empty is not None:
            targets.remove_target(empty)
    return {"handler_wall_ms": stats(session.timings), "handler_cpu_ms": stats(cpu), "frame_set_ms": stats(totals)}


def stats(values):
    v = np.asarray(values, dtype=float)
    return {"median": round(float(np.median(v)), 3), "p95": round(float(np.percentile(v, 95)), 3),
            "max": round(float(v.max()), 3), "n": int(len(v))}


def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average_1min": load, "blender": bpy.app.version_string}


def table(result):
    lines = ["| scenario | handler median / p95 / max (ms, wall) | handler CPU median / p95 (ms) | frame_set median / p95 (ms) |",
             "| --- | --- | --- | --- |"]
    for name in SCENARIOS:
        r = result["scenarios"][name]
        w, c, t = r["handler_wall_ms"], r["handler_cpu_ms"], r["frame_set_ms"]
        lines.append(f"| {name} | {w['median']} / {w['p95']} / {w['max']} | {c['median']} / {c['p95']} | "
                     f"{t['median']} / {t['p95']} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bones", type=int, default=65)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--play", type=int, default=600, help="scene frames played per scenario")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    arm, info = setup(args.bones, args.frames)
    result = dict(info, machine=machine(), play=args.play, scenarios={})
    for scenario in SCENARIOS:
        result["scenarios"][scenario] = run(arm, info["joint"], scenario, args.play)
    result["machine"]["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps(result, indent=1) if args.json else json.dumps({k: v for k, v in result.items() if k != "scenarios"})
          + "\n" + table(result))
    worker_client.shutdown_shared()
    return 0


if __name__ == "__main__":
    sys.exit(main())
