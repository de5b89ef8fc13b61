"""The project's benchmark: docs/evaluation.md's edit, variation, long-run, MBench and speed
protocols on real clips.

    python -m engine.eval.benchmark [--clips PATHS...] [--out DIR] [--edits 24] [--seed 0]
                               [--quick] [--methods replay,ikwarp,refined_source,generator]
                               [--protocols edits,variations,retiming,far,catch,punch]
                               [--genmm [PATH]]

Clips: every BVH under ../shared/motions and under ../nonhuman_clips (or
$MOTIONDNA_NONHUMAN_CLIPS: real animal and creature clips kept out of the repository),
relative to the repository root and each skipped with a message when absent, plus any
``--clips``; the summaries report the human and the non-human clips apart. Methods, judged on the same seeded edits in
the same run: ``replay`` (the source unchanged), ``ikwarp`` (engine/eval/ikwarp.py),
``refined_source`` (the exact source through the project's refinement, no generator) and
``generator`` (engine.generator.build + runtime). Variations (engine/eval/variations.py):
the generator, its ablations (hard cuts; no coverage seeking), the looped source and,
with ``--genmm``, GenMM (engine/eval/genmm.py; skipped with a note when absent). Writes
DIR/benchmark.json and DIR/benchmark.md.

Protocols (``--protocols``, default all): ``edits`` (the edits, long runs and the
generator's speed), ``variations``, and the targets-through-generation protocols, each in
its own module: ``retiming`` (engine/eval/retiming.py, with the time warp of
engine/eval/timewarp.py), ``far`` (engine/eval/far.py), ``catch`` and ``punch``
(engine/eval/streaming.py).

Long run (10 x L frames): the baselines loop the source (each copy continues from where
the previous one ended, turned to its heading); the moving target is a hand following a
slow random path within 30 cm of where that method's own free long run puts the hand
(the same seeded offset for every method).
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

from ..io.bvh import read_bvh
from ..motion import limbs, metrics, quat
from ..motion.skeleton import Motion
from ..motion.targets import Target
from ..refine.refinement import refine_targets
from ..worker import protocol
from . import far, ikwarp, mbench, preview, retiming, streaming, variations
from . import genmm as genmm_mod

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_MOTIONS = os.path.join(ROOT, "..", "shared", "motions")
# Real non-human clips (animals, creatures) whose terms keep them out of the repository:
# $MOTIONDNA_NONHUMAN_CLIPS, else ../nonhuman_clips beside the repository (docs/benchmark.md).
NONHUMAN_MOTIONS = os.environ.get("MOTIONDNA_NONHUMAN_CLIPS") or os.path.join(ROOT, "..", "nonhuman_clips")
OFFSETS_CM = (0, 10, 20, 30)
EDIT_WINDOW = (0.2, 0.8)
LONG_RUN_FACTOR = 10
MOVING_TARGET_CM = 30.0
TIMING_RUNS = 5
ALL_METHODS = ("replay", "ikwarp", "refined_source", "generator")
QUICK_VARIATION = {"factors": (3,), "seeds": (0, 1)}
ALL_PROTOCOLS = ("edits", "variations", "retiming", "far", "catch", "punch")


# ---------------------------------------------------------------------------------------
# clips and edits

def default_clips(folder=SHARED_MOTIONS):
    """Every BVH under ``folder`` (default ../shared/motions), sorted, or [] when it is absent."""
    if not os.path.isdir(folder):
        return []
    out = []
    for d, _, files in os.walk(folder):
        out += [os.path.join(d, f) for f in files if f.lower().endswith(".bvh")]
    return sorted(os.path.abspath(p) for p in out)


def clip_group(path):
    """'non-human' for a clip under NONHUMAN_MOTIONS, else 'human': the summaries report each apart."""
    folder = os.path.abspath(NONHUMAN_MOTIONS) + os.sep
    return "non-human" if os.path.abspath(path).startswith(folder) else "human"


def load_clip(path):
    return read_bvh(path).to_motion()


def make_edits(ref, count, seed):
    """docs/evaluation.md edits: one or two end effectors, T uniform in [0.2 L, 0.8 L], target = the
    source position at T + r (cycled through 0/10/20/30 cm so each r gets a quarter of
    the edits) in a uniformly random direction; a foot target (a joint on a limb that
    stands on the ground: ``ref.feet``) is lifted to no lower than
    the ground (and not below the lowest height that foot reaches in the source)."""
    rng = np.random.default_rng([int(seed), zlib.crc32(ref.motion.name.encode())])
    L = ref.motion.num_frames
    names = sorted(ref.effectors)
    positions = ref.track.positions
    edits = []
    for i in range(int(count)):
        r_cm = OFFSETS_CM[i % len(OFFSETS_CM)]
        picked = rng.choice(names, size=min(len(names), int(rng.integers(1, 3))), replace=False)
        frame = int(np.clip(round(rng.uniform(*EDIT_WINDOW) * (L - 1)), 0, L - 1))
        targets = []
        for key in sorted(picked):
            j = ref.effectors[key]
            direction = rng.normal(size=3)
            direction /= np.linalg.norm(direction)
            goal = positions[frame, j] + direction * r_cm / 100.0
            if key.endswith("foot") or any(limbs.same_limb(ref.skeleton, j, f) for f in ref.feet):
                floor = max(ref.ground, float(np.percentile(positions[:, j, ref.track.up_axis], 5)))
                goal[ref.track.up_axis] = max(goal[ref.track.up_axis], min(floor, positions[frame, j, ref.track.up_axis]))
            targets.append((key, j, goal))
        edits.append({"index": i, "frame": frame, "r_cm": r_cm,
                      "effectors": [k for k, _, _ in targets],
                      "targets": [Target(j, [frame], ref.to_units(g)[None]) for _, j, g in targets],
                      "targets_m": [g.tolist() for _, _, g in targets]})
    return edits


# ---------------------------------------------------------------------------------------
# long-run material

def loop_motion(motion, num_frames):
    """The clip repeated to ``num_frames``; each copy is turned about the up axis and
    moved on the ground so it starts where (and facing where) the previous copy ended,
    one frame step further on. The pose itself jumps at the seams, as a replay does."""
    skel = motion.skeleton
    root, up = skel.root, skel.up_axis
    wrot, wpos = motion.world()
    heading = metrics.heading_quaternion(skel, wrot)
    step_rot = quat.mul(heading[-1], quat.inv(heading[0]))
    rest = skel.rest_rotations[root]
    copies = int(math.ceil(num_frames / motion.num_frames))
    rots, trans = [], []
    turn, shift = quat.identity(), np.zeros(3)
    for _ in range(copies):
        r = motion.rotations.copy()
        t = motion.translations.copy()
        # World root rotation R -> turn * R; local = rest^-1 * turn * rest * local.
        r[:, root] = quat.mul(quat.inv(rest), quat.mul(turn, quat.mul(rest, r[:, root])))
        t[:, root] = quat.mul_vec(turn, t[:, root]) + shift
        rots.append(r)
        trans.append(t)
        # The next copy's first frame lands one (last) frame step beyond this copy's end.
        end = t[-1, root] + (t[-1, root] - t[-2, root] if len(t) > 1 else 0.0)
        turn = quat.mul(turn, step_rot)
        shift = end - quat.mul_vec(turn, motion.translations[0, root])
        shift[up] = 0.0
    return Motion(skel, np.concatenate(rots)[:num_frames], np.concatenate(trans)[:num_frames],
                  motion.fps, f"{motion.name}_loop", dict(motion.meta))


def moving_hand_target(ref, looped, seed):
    """A hand target on every frame: the hand of ``looped`` (a free long run) plus a slow
    random offset (a few low-frequency sinusoids per axis) no farther than 30 cm."""
    key = "right_hand" if "right_hand" in ref.effectors else sorted(ref.effectors)[0]
    j = ref.effectors[key]
    hand = ref.track_of(looped).positions[:, j]
    rng = np.random.default_rng([int(seed), 7])
    t = np.arange(len(hand)) / looped.fps
    offset = np.zeros((len(hand), 3))
    for axis in range(3):
        for _ in range(3):
            period = rng.uniform(3.0, 8.0)  # slow: several seconds per swing
            offset[:, axis] += rng.normal() * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    offset *= (MOVING_TARGET_CM / 100.0) / max(np.linalg.norm(offset, axis=-1).max(), 1e-9)
    return key, Target(j, np.arange(len(hand)), ref.to_units(hand + offset))


# ---------------------------------------------------------------------------------------
# methods

class Replay:
    name = "replay"

    def __init__(self, motion):
        self.motion = motion

    def edit(self, targets):
        return self.motion

    def long_run(self, num_frames, targets=()):
        return loop_motion(self.motion, num_frames)


class IkWarp(Replay):
    name = "ikwarp"

    def edit(self, targets):
        return ikwarp.ik_warp(self.motion, targets)

    def long_run(self, num_frames, targets=()):
        return ikwarp.ik_warp(loop_motion(self.motion, num_frames), targets)


class RefinedSource(Replay):
    """docs/evaluation.md baseline: the exact source through the project's own refinement."""
    name = "refined_source"

    def edit(self, targets):
        return refine_targets(self.motion, targets)

    def long_run(self, num_frames, targets=()):
        looped = loop_motion(self.motion, num_frames)
        return refine_targets(looped, list(targets)) if targets else looped


class GeneratorMethod:
    name = "generator"

    def __init__(self, motion, workdir, settings=None):
        # Imported when the generator runs: the baselines run where it cannot (generator_available).
        from ..generator.build import build_generator
        from ..generator.runtime import Generator
        self.path = os.path.join(workdir, f"{_slug(motion.name)}.mdna")
        t0 = time.perf_counter()
        self.info = build_generator(motion, self.path, settings=settings)
        self.build_seconds = time.perf_counter() - t0
        self.generator = Generator.load(self.path)
        self.motion = motion

    def edit(self, targets):
        return self.generator.generate(targets=targets)

    def long_run(self, num_frames, targets=()):
        return self.generator.generate(targets=list(targets), num_frames=num_frames)


def generator_available():
    """(True, '') when engine.generator.build and runtime import, else (False, why)."""
    try:
        from ..generator import build, runtime  # noqa: F401
        if not hasattr(build, "build_generator") or not hasattr(runtime, "Generator"):
            return False, "engine.generator.build.build_generator or engine.generator.runtime.Generator is missing"
        return True, ""
    except Exception as e:  # an unfinished module may fail in many ways
        return False, f"generator not importable ({type(e).__name__}: {e})"


# ---------------------------------------------------------------------------------------
# running

def run_edits(ref, method, edits, footing):
    rows, seconds = [], []
    for e in edits:
        t0 = time.perf_counter()
        out = method.edit(e["targets"])
        seconds.append(time.perf_counter() - t0)
        m = ref.edit_metrics(out, e["targets"])
        if m.get("finite"):
            m["local_style_distance_cm"] = ref.local_style_distance_cm(ref.track_of(out), [e["frame"]])
            m["mbench"] = mbench.quality_on(out, footing)
        m.update(index=e["index"], r_cm=e["r_cm"])
        rows.append(m)
    return {"per_edit": rows, "summary": summarise_edits(rows, seconds)}


def summarise_edits(rows, seconds):
    errors = [x for r in rows if r.get("finite") for x in r["target_errors_cm"]]
    recon = [r["reconstruction_cm"] for r in rows if r.get("finite") and r["r_cm"] == 0]
    return {
        "finite_share": float(np.mean([bool(r.get("finite")) for r in rows])) if rows else float("nan"),
        "target_error_cm_mean": _mean(errors),
        "target_error_cm_p95": float(np.percentile(errors, 95)) if errors else float("nan"),
        "reconstruction_cm": _mean(recon),
        "foot_skate_delta": _mean([r["foot_skate_delta"] for r in rows if r.get("finite")]),
        "jitter_ratio": _mean([r["jitter_ratio"] for r in rows if r.get("finite")]),
        "style_distance_cm": _mean([r["style_distance_cm"] for r in rows if r.get("finite")]),
        "local_style_distance_cm": _mean([r["local_style_distance_cm"] for r in rows if r.get("finite")]),
        "mbench": {k: _mean([r["mbench"][k] for r in rows if r.get("finite")]) for k in mbench.NAMES},
        "seconds_per_edit": float(np.median(seconds)) if seconds else float("nan"),
        "target_errors_cm": errors,
    }


def run_long(ref, method, num_frames, seed):
    """docs/evaluation.md long run. The moving hand target follows the method's own free run plus a
    slow random offset (the same for every method): a looped clip and a generator that
    loops elsewhere travel different paths, and a target left behind on another path
    would measure the path, not the hand."""
    free_motion = method.long_run(num_frames)
    free = ref.long_run_metrics(free_motion)
    _, moving = moving_hand_target(ref, free_motion, seed)
    with_target = ref.long_run_metrics(method.long_run(num_frames, [moving]), [moving])
    if "target_errors_cm" in with_target:
        errs = with_target.pop("target_errors_cm")
        with_target["target_error_cm_mean"] = _mean(errs)
        with_target["target_error_cm_p95"] = float(np.percentile(errs, 95))
    return {"free": free, "moving_target": with_target}


def generator_speed(method, edits, num_frames):
    """Variation frames/s (no targets, 10 x L), regeneration latency after a moved target, size."""
    gen = method.generator
    rollout = _median_seconds(lambda: gen.generate(num_frames=num_frames, seed=1))
    edit = next((e for e in edits if e["r_cm"] > 0), edits[0]) if edits else None
    regen = _median_seconds(lambda: gen.generate(targets=edit["targets"])) if edit else float("nan")
    return {"build_seconds_in_process": method.build_seconds,
            "rollout_frames": num_frames, "rollout_seconds": rollout,
            "rollout_fps": num_frames / rollout if rollout > 0 else float("nan"),
            "regen_latency_s": regen, "size_bytes": os.path.getsize(method.path)}


def _median_seconds(fn, runs=TIMING_RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def process_timings(runs=3):
    """Process start and the worker's start, measured in fresh interpreters (docs/evaluation.md 'build')."""
    def timed(code):
        return _median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True,
                                                      capture_output=True, cwd=ROOT), runs)
    out = {"python_start_s": timed("pass")}
    out["worker_ready_s"] = _worker_ready_seconds()
    return out


def _worker_ready_seconds(timeout=120.0):
    """Seconds from starting ``python -m engine.worker`` to its 'ready' event and one
    ping round trip; None when the worker cannot be run."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "engine.worker"], cwd=ROOT, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    try:
        ready = _wait_event(proc, protocol, "ready", t0 + timeout)
        if ready is None:
            return None
        protocol.write_frame(proc.stdin, {"id": 1, "cmd": "ping", "args": {}})
        t_ping = time.perf_counter()
        got = _wait_event(proc, protocol, "result", t0 + timeout)
        return {"ready_s": ready, "ping_round_trip_s": (time.perf_counter() - t_ping) if got is not None else None}
    except (OSError, ValueError, RuntimeError):
        return None
    finally:
        try:
            protocol.write_frame(proc.stdin, {"id": 2, "cmd": "shutdown", "args": {}})
            proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_event(proc, protocol, event, deadline):
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        frame = protocol.read_frame(proc.stdout)
        if frame is None:
            return None
        if frame.get("event") == event:
            return time.perf_counter() - t0
    return None


def machine_info():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__}


def run_clip(path, methods, edits_count, seed, long_factor, workdir, generator_settings, timings,
             variation=None, genmm=None, protocols=ALL_PROTOCOLS, quick=False, picture_dir=None):
    motion = load_clip(path)
    ref = metrics.Reference(motion)
    footing = mbench.footing(motion)
    edits = make_edits(ref, edits_count, seed)
    skel = motion.skeleton
    long_frames = int(long_factor * motion.num_frames)
    hand_key = "right_hand" if "right_hand" in ref.effectors else sorted(ref.effectors)[0]
    clip = {"name": motion.name, "path": os.path.abspath(path), "group": clip_group(path),
            "frames": motion.num_frames, "fps": motion.fps,
            "joints": skel.num_joints, "up_axis": "XYZ"[skel.up_axis], "metres_per_unit": ref.scale,
            "feet": [skel.names[j] for j in ref.feet], "ground_m": ref.ground, "foot_grounds_m": ref.foot_grounds,
            "effectors": {k: skel.names[j] for k, j in ref.effectors.items()},
            "source": {"foot_skate": ref.skate, "jitter_m_s2": ref.jitter,
                       "mbench": mbench.quality_on(motion, footing)},
            "edits": [{k: e[k] for k in ("index", "frame", "r_cm", "effectors", "targets_m")} for e in edits],
            "long_run": {"frames": long_frames, "moving_target_joint": skel.names[ref.effectors[hand_key]], "moving_target_effector": hand_key},
            "methods": {}, "notes": []}
    built = {}
    for name in methods:
        t0 = time.perf_counter()
        try:
            method = make_method(name, motion, workdir, generator_settings)
        except Exception as e:  # report and carry on with the other methods
            clip["notes"].append(f"{name}: could not be built ({type(e).__name__}: {e})")
            continue
        built[name] = method
        if "edits" not in protocols:
            continue
        result = run_edits(ref, method, edits, footing)
        result["long_run"] = run_long(ref, method, long_frames, seed)
        if name == "generator":
            result["speed"] = generator_speed(method, edits, long_frames)
        result["seconds"] = time.perf_counter() - t0
        clip["methods"][name] = result
        if timings is not None:
            timings(f"{motion.name} {name}: {result['seconds']:.1f} s")
    if "variations" in protocols:
        clip["variations"] = run_variations(ref, path, built, workdir, variation or {}, genmm, footing, clip["notes"], timings)
    clip["variations_goal_replayed_s"] = variations.replayed_goal_s(motion)
    clip.update(run_target_protocols(ref, built, protocols, seed, quick, timings, clip["notes"]))
    if "catch" in clip and picture_dir is not None and not preview.can_draw():
        clip["notes"].append("catch picture skipped: matplotlib is not installed")
    elif "catch" in clip and picture_dir is not None:
        os.makedirs(picture_dir, exist_ok=True)
        clip["catch"]["picture"] = streaming.catch_picture(
            ref, built, clip["catch"], os.path.join(picture_dir, f"{_slug(motion.name)}.png"), seed,
            streaming.QUICK_THROWS if quick else streaming.THROWS)
    return clip


def run_target_protocols(ref, built, protocols, seed, quick, timings, notes=None):
    """{protocol: result} for the retiming, far-target and streaming protocols asked for;
    a streaming protocol the rig cannot run is skipped with a line in ``notes``."""
    runs = {"retiming": lambda: retiming.run(ref, built, quick),
            "far": lambda: far.run(ref, built, seed, quick),
            "catch": lambda: streaming.run(ref, built, "catch", seed, streaming.QUICK_THROWS if quick else streaming.THROWS),
            "punch": lambda: streaming.run(ref, built, "punch", seed, streaming.QUICK_THROWS if quick else streaming.THROWS)}
    out = {}
    for name in (p for p in protocols if p in runs):
        why = streaming.unavailable(ref, name) if name in streaming.KINDS else None
        if why is not None:
            if notes is not None:
                notes.append(why)
            continue
        t0 = time.perf_counter()
        out[name] = runs[name]()
        if timings is not None:
            timings(f"{ref.motion.name} {name}: {time.perf_counter() - t0:.1f} s")
    return out


def summarise_target_protocols(clips):
    return {"retiming": retiming.summarise(clips), "far": far.summarise(clips),
            "catch": streaming.summarise(clips, "catch"), "punch": streaming.summarise(clips, "punch")}


def target_protocols_markdown(report):
    s, clips = report.get("target_protocols", {}), report["clips"]
    return (retiming.to_markdown(s.get("retiming"), clips, _table) + far.to_markdown(s.get("far"), clips, _table)
            + streaming.to_markdown(s.get("catch"), clips, "catch", _table)
            + streaming.to_markdown(s.get("punch"), clips, "punch", _table))


def variation_makers(ref, path, built, workdir, genmm):
    """{name: maker} for the variation protocol: the generator and its ablations when it
    was built, the looped source, and GenMM when found."""
    makers = {}
    if "generator" in built:
        gen = built["generator"].generator
        makers["generator"] = variations.generator_maker(gen)
        makers["ablation: hard cuts"] = variations.hard_cut_maker(gen)
        makers["ablation: no coverage seeking"] = variations.no_coverage_maker(gen)
    makers["looped source"] = lambda n, seed: loop_motion(ref.motion, n)
    if genmm is not None:  # genmm(path, num_frames, seed) -> (Motion, seconds)
        makers["genmm"] = lambda n, seed: genmm(path, n, seed)
    return makers


def run_variations(ref, path, built, workdir, options, genmm, footing, notes, timings):
    out = {}
    for name, maker in variation_makers(ref, path, built, workdir, genmm).items():
        t0 = time.perf_counter()
        try:
            out[name] = variations.score_maker(ref, maker, options.get("factors", variations.FACTORS),
                                               options.get("seeds", variations.SEEDS), footing)
        except Exception as e:  # GenMM may fail on a rig it cannot read: note it, go on
            notes.append(f"variations, {name}: failed ({type(e).__name__}: {e})")
            continue
        if timings is not None:
            timings(f"{ref.motion.name} variations, {name}: {time.perf_counter() - t0:.1f} s")
    return out


def make_method(name, motion, workdir, generator_settings):
    if name == "replay":
        return Replay(motion)
    if name == "ikwarp":
        return IkWarp(motion)
    if name == "refined_source":
        return RefinedSource(motion)
    if name == "generator":
        return GeneratorMethod(motion, workdir, generator_settings)
    raise ValueError(f"unknown method '{name}' (known: {', '.join(ALL_METHODS)})")


def summarise(clips, methods):
    out = {}
    for name in methods:
        rows = [c["methods"][name] for c in clips if name in c["methods"]]
        if not rows:
            continue
        errors = [x for r in rows for x in r["summary"]["target_errors_cm"]]
        keys = ("reconstruction_cm", "foot_skate_delta", "jitter_ratio", "style_distance_cm",
                "local_style_distance_cm", "seconds_per_edit")
        s = {"clips": len(rows), "target_error_cm_mean": _mean(errors),
             "target_error_cm_p95": float(np.percentile(errors, 95)) if errors else float("nan")}
        s.update({k: _mean([r["summary"][k] for r in rows]) for k in keys})
        for part in ("free", "moving_target"):
            runs = [r["long_run"][part] for r in rows]
            s[f"long_{part}_stable_share"] = _mean([float(bool(x.get("stable"))) for x in runs])
            for k in ("coverage", "style_distance_cm", "foot_skate_delta", "jitter_ratio"):
                s[f"long_{part}_{k}"] = _mean([x.get(k, float("nan")) for x in runs])
        out[name] = s
    return out


def summarise_variations(clips):
    """{maker: {"3x": {metric: mean over clips}}} plus the share of clips meeting each goal."""
    out = {}
    makers = sorted({m for c in clips for m in c.get("variations", {})})
    for name in makers:
        per = {}
        for factor in sorted({f for c in clips for f in c["variations"].get(name, {})}):
            rows = [(c, c["variations"][name][factor]) for c in clips if factor in c["variations"].get(name, {})]
            keys = variations.ROWS + ("inter_variation_cm", "seconds")
            summary = {k: _mean([r[k] for _, r in rows]) for k in keys}
            summary["clips"] = len(rows)
            summary["goals_met"] = {goal: _mean([float(check(c, r)) for c, r in rows]) for goal, check in VARIATION_GOALS}
            per[factor] = summary
        out[name] = per
    return out


# docs/evaluation.md / issue goals on variations, per clip (GenMM's comparison needs its row).
VARIATION_GOALS = [
    ("inter-variation >= 5 cm", lambda c, r: r["inter_variation_cm"] >= 5.0),
    ("replayed stretch <= min(2 s, L/3)", lambda c, r: r["replayed_stretch_s"] <= c["variations_goal_replayed_s"]),
    ("style distance <= 1.0 cm", lambda c, r: r["style_distance_cm"] <= 1.0),
    ("coverage >= 95 %", lambda c, r: r["coverage"] >= 0.95),
    ("foot skate <= source + 0.005", lambda c, r: r["foot_skate_delta"] <= 0.005),
    ("jitter ratio <= 1.1", lambda c, r: r["jitter_ratio"] <= 1.1),
    ("stable", lambda c, r: r["stable"] >= 1.0),
]


# ---------------------------------------------------------------------------------------
# output

EDIT_ROWS = [("target error mean (cm)", "target_error_cm_mean", "{:.2f}"),
             ("target error p95 (cm)", "target_error_cm_p95", "{:.2f}"),
             ("reconstruction, r=0 (cm)", "reconstruction_cm", "{:.2f}"),
             ("foot skate (gen - source)", "foot_skate_delta", "{:+.3f}"),
             ("jitter ratio", "jitter_ratio", "{:.3f}"),
             ("style distance (cm)", "style_distance_cm", "{:.2f}"),
             ("local style distance, T +- 1 s (cm)", "local_style_distance_cm", "{:.2f}"),
             ("seconds per edit (median)", "seconds_per_edit", "{:.3f}")]
LONG_ROWS = [("stable", "stable", "{}"), ("coverage", "coverage", "{:.2f}"),
             ("style distance (cm)", "style_distance_cm", "{:.2f}"),
             ("foot skate (gen - source)", "foot_skate_delta", "{:+.3f}"),
             ("jitter ratio", "jitter_ratio", "{:.3f}"),
             ("target error mean (cm)", "target_error_cm_mean", "{:.2f}")]
VARIATION_ROWS = [("style distance (cm)", "style_distance_cm", "{:.2f}"), ("coverage", "coverage", "{:.2f}"),
                  ("foot skate (gen - source)", "foot_skate_delta", "{:+.3f}"),
                  ("jitter ratio", "jitter_ratio", "{:.3f}"), ("stable (share of seeds)", "stable", "{:.2f}"),
                  ("inter-variation distance (cm)", "inter_variation_cm", "{:.1f}"),
                  ("replayed stretch (s)", "replayed_stretch_s", "{:.2f}"),
                  ("seconds per generation (median)", "seconds", "{:.3f}")]
SPEED_ROWS = [("build, in process (s)", "build_seconds_in_process", "{:.2f}"),
              ("variation, 10 x L (s)", "rollout_seconds", "{:.3f}"),
              ("variation (frames/s)", "rollout_fps", "{:.0f}"),
              ("regen latency (s)", "regen_latency_s", "{:.3f}"),
              ("size (bytes)", "size_bytes", "{:d}")]


def _fmt(fmt, v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    try:
        return fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def _table(title, methods, rows, get):
    lines = [f"| {title} | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
    for label, key, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(fmt, get(m, key)) for m in methods) + " |")
    return lines


def to_markdown(report):
    lines = ["# MotionDNA benchmark (docs/evaluation.md)", ""]
    m = report["machine"]
    lines += [f"Machine: {m['platform']}, {m['cpu']}, {m['cores']} cores, Python {m['python']}. "
              f"Edits per clip: {report['settings']['edits']}, seed {report['settings']['seed']}, "
              f"long run {report['settings']['long_factor']} x L.", ""]
    for note in report["notes"]:
        lines.append(f"- note: {note}")
    if report["notes"]:
        lines.append("")
    t = report.get("process_timings")
    if t:
        lines += [f"Process timings (medians): python start {_fmt('{:.2f}', t.get('python_start_s'))} s, "
                  f"worker {t.get('worker_ready_s')}.", ""]
    methods = report["settings"]["methods"]
    if report["summary"]:
        ms = [x for x in methods if x in report["summary"]]
        lines += ["## Summary across clips", ""]
        rows = EDIT_ROWS + [(f"long run {p}: {lab}", f"long_{p}_{k if k != 'stable' else 'stable_share'}", f)
                            for p in ("free", "moving_target") for lab, k, f in LONG_ROWS[:5]]
        lines += _table("metric", ms, rows, lambda x, k: report["summary"][x].get(k)) + [""]
    groups = report.get("summary_by_group", {})
    if len(groups) > 1:  # human and non-human clips apart (docs/evaluation.md 'Any rig')
        for group, summary in groups.items():
            ms = [x for x in methods if x in summary]
            lines += [f"## Summary, {group} clips", ""]
            lines += _table("metric", ms, EDIT_ROWS, lambda x, k, s=summary: s[x].get(k)) + [""]
    lines += _variation_summary(report.get("variation_summary", {}))
    lines += target_protocols_markdown(report)
    for c in report["clips"]:
        ms = [x for x in methods if x in c["methods"]]
        lines += [f"## {c['name']} ({c['frames']} frames, {c['fps']:.0f} fps, {c['metres_per_unit']:.4f} m/unit)", ""]
        if ms:
            lines += _table("edit metric", ms, EDIT_ROWS, lambda x, k, c=c: c["methods"][x]["summary"].get(k)) + [""]
            for part in ("free", "moving_target"):
                lines += _table(f"long run, {part.replace('_', ' ')}", ms, LONG_ROWS,
                                lambda x, k, c=c, part=part: c["methods"][x]["long_run"][part].get(k)) + [""]
        lines += _mbench_table(c)
        for factor in ("3x", "10x"):
            vs = [m for m in c.get("variations", {}) if factor in c["variations"][m]]
            if vs:
                lines += _table(f"variations, {factor} L, seeds {len(variations.SEEDS)}", vs, VARIATION_ROWS,
                                lambda x, k, c=c, f=factor: c["variations"][x][f].get(k)) + [""]
        if "generator" in c["methods"]:
            lines += _table("generator speed/size", ["generator"], SPEED_ROWS,
                            lambda x, k, c=c: c["methods"][x]["speed"].get(k)) + [""]
        for note in c["notes"]:
            lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"


def _variation_summary(summary):
    lines = []
    for factor in ("3x", "10x"):
        ms = [m for m in summary if factor in summary[m]]
        if not ms:
            continue
        lines += [f"## Variations across clips, {factor} L", ""]
        lines += _table("metric", ms, VARIATION_ROWS, lambda x, k, f=factor: summary[x][f].get(k)) + [""]
        goal_rows = [(goal, goal, "{:.0%}") for goal, _ in VARIATION_GOALS]
        lines += _table("share of clips meeting", ms, goal_rows,
                        lambda x, k, f=factor: summary[x][f]["goals_met"].get(k)) + [""]
    return lines


def _mbench_table(c):
    """MBench measures: the source's, each edit method's (mean over edits) and the variations'."""
    cols = [("source", c["source"]["mbench"])]
    cols += [(f"edits: {m}", r["summary"]["mbench"]) for m, r in c["methods"].items() if "mbench" in r["summary"]]
    cols += [(f"{m} {f}", v[f]["mbench"] and {k: x[0] for k, x in v[f]["mbench"].items()})
             for m, v in c.get("variations", {}).items() for f in ("3x", "10x") if f in v]
    rows = [(f"{k} ({mbench.UNITS[k]})", k, "{:.4g}") for k in mbench.NAMES]
    lookup = dict(cols)
    return _table("MBench", [n for n, _ in cols], rows, lambda x, k: lookup[x].get(k)) + [""]


def merge_reports(paths):
    """One report from runs over different clips (parallel processes, one per core): their
    clips in path order, as one run orders them, and every summary computed again; the
    machine, settings and process timings are the first run's."""
    reports = []
    for path in paths:
        with open(path) as f:
            reports.append(json.load(f))
    out = dict(reports[0])
    out["clips"] = sorted((c for r in reports for c in r["clips"]), key=lambda c: c["path"])
    out["notes"] = list(dict.fromkeys(n for r in reports for n in r["notes"]))
    out["summary"] = summarise(out["clips"], out["settings"]["methods"])
    out["variation_summary"] = summarise_variations(out["clips"])
    out["target_protocols"] = summarise_target_protocols(out["clips"])
    out["merged_from"] = [os.path.abspath(p) for p in paths]
    return _json_safe(out)


def write_report(report, out_dir):
    with open(os.path.join(out_dir, "benchmark.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out_dir, "benchmark.md"), "w") as f:
        f.write(to_markdown(report))
    print(f"benchmark: wrote {os.path.join(out_dir, 'benchmark.json')} and benchmark.md")


def _mean(values):
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(values)) if values else float("nan")


def _json_safe(x):
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return _json_safe(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _slug(name):
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:80] or "clip"


# ---------------------------------------------------------------------------------------
# command line

def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(p):
    """The benchmark's options, shared with the ``motiondna bench`` command."""
    p.add_argument("--clips", nargs="*", default=[], help="extra BVH clips (besides ../shared/motions)")
    p.add_argument("--out", default=os.path.join("out", "benchmark"), help="output folder (default out/benchmark)")
    p.add_argument("--edits", type=_positive_int, default=24, help="edits per clip (default 24)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 4 edits, one clip (the given ones, else the shortest), 2 x L long run, "
                        "variations at 3 x L with 2 seeds, retiming at one peak per joint and d = +-0.4 s, "
                        "one far edit per joint and offset, 10 throws; every method unless --methods")
    p.add_argument("--methods", default=None, help=f"comma list of {','.join(ALL_METHODS)}")
    p.add_argument("--protocols", default=",".join(ALL_PROTOCOLS), help=f"comma list of {','.join(ALL_PROTOCOLS)}")
    p.add_argument("--no-shared", action="store_true", help="ignore ../shared/motions")
    p.add_argument("--no-nonhuman", action="store_true", help="ignore the non-human clips (../nonhuman_clips)")
    p.add_argument("--generator-settings", default=None, help="JSON settings for build_generator")
    p.add_argument("--merge", nargs="+", default=None, metavar="REPORT",
                   help="write one report (to --out) from the benchmark.json of runs over different clips, and run nothing")
    p.add_argument("--genmm", nargs="?", const="", default=None, metavar="PATH",
                   help="also run GenMM's variations (its checkout: PATH or $MOTIONDNA_GENMM; docs/benchmark.md)")
    return p


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m engine.eval.benchmark", description=__doc__.split("\n\n")[0])
    return add_arguments(p).parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.merge:
        os.makedirs(args.out, exist_ok=True)
        write_report(merge_reports(args.merge), args.out)
        return 0
    notes = []
    shared = [] if args.no_shared else default_clips()
    if not shared and not args.no_shared:
        notes.append(f"no shared clips: {os.path.normpath(SHARED_MOTIONS)} is absent")
    nonhuman = [] if args.no_nonhuman else default_clips(NONHUMAN_MOTIONS)
    if not nonhuman and not args.no_nonhuman:
        notes.append(f"no non-human clips: {os.path.normpath(NONHUMAN_MOTIONS)} is absent (docs/benchmark.md)")
    shared += [c for c in nonhuman if c not in shared]
    clips = [os.path.abspath(p) for p in args.clips]
    edits, long_factor = args.edits, LONG_RUN_FACTOR
    methods = list(ALL_METHODS) if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    settings = json.loads(args.generator_settings) if args.generator_settings else None
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = [p for p in protocols if p not in ALL_PROTOCOLS]
    if unknown:
        raise SystemExit(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(ALL_PROTOCOLS)}")
    if args.quick:
        edits, long_factor = min(edits, 4), 2
        if not clips:
            clips = sorted(shared, key=lambda p: os.path.getsize(p))[:1]
    else:
        clips = shared + [c for c in clips if c not in shared]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise SystemExit(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}")
    if "generator" in methods:
        ok, why = generator_available()
        if not ok:
            methods.remove("generator")
            notes.append(f"generator column skipped: {why}")
    genmm = None
    if args.genmm is not None:
        found = genmm_mod.find_genmm(args.genmm or None)
        if found is None:
            notes.append("GenMM skipped: no checkout with an interpreter at --genmm PATH or $MOTIONDNA_GENMM")
        else:  # its outputs are cached beside the report, so a rerun reads them back
            def genmm(path, n, seed):
                return genmm_mod.generate(found, path, n, seed, args.out)
    if not clips:
        print("benchmark: no clips to run (../shared/motions is absent and no --clips given)")
        return 0
    os.makedirs(args.out, exist_ok=True)
    report = {"machine": machine_info(), "notes": notes,
              "settings": {"edits": edits, "seed": args.seed, "long_factor": long_factor, "methods": methods,
                           "quick": bool(args.quick), "generator_settings": settings, "protocols": protocols},
              "clips": []}
    if "generator" in methods:
        report["process_timings"] = process_timings()
    with tempfile.TemporaryDirectory(prefix="mdna_bench_") as workdir:
        for path in clips:
            print(f"benchmark: {os.path.basename(path)}", flush=True)
            report["clips"].append(run_clip(path, methods, edits, args.seed, long_factor, workdir, settings,
                                            lambda msg: print(f"  {msg}", flush=True),
                                            QUICK_VARIATION if args.quick else None, genmm, protocols, args.quick,
                                            os.path.join(args.out, "catch")))
    report["summary"] = summarise(report["clips"], methods)
    report["summary_by_group"] = {g: summarise([c for c in report["clips"] if c.get("group") == g], methods)
                                  for g in sorted({c.get("group", "human") for c in report["clips"]})}
    report["variation_summary"] = summarise_variations(report["clips"])
    report["target_protocols"] = summarise_target_protocols(report["clips"])
    write_report(_json_safe(report), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
