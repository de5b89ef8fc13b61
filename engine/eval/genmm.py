"""GenMM side by side: the published example-based generator on the benchmark's clips.

GenMM (Li et al., "Example-based Motion Synthesis via Generative Motion Matching",
SIGGRAPH 2023) is not part of this project: its public checkout and its own Python live
outside the repository (docs/benchmark.md, "GenMM side by side", says how to set them
up). ``find_genmm`` locates them; ``generate`` runs one generation in GenMM's interpreter
through tools/genmm_driver.py and brings the result back as an engine ``Motion``:

    genmm = find_genmm()          # $MOTIONDNA_GENMM, or None: skip the method
    motion, seconds = generate(genmm, "clip.bvh", 3 * L, seed=0, workdir="out/benchmark")

What comes back has the source's skeleton (joint names by order, parents, offsets, up
axis), its frame rate and ``num_frames`` frames. GenMM's writer loses both the names
(it strips ``prefix:``) and the frame time (it writes ``Frame Time: 1``), and GenMM
works at 30 fps (its loader halves a 120 or 60 fps clip's rate until the frame time
reaches 1/60 s or more, so 120 and 60 fps clips run at about 30 fps): the driver reports
the rate it used, the output is read at that rate and resampled (slerp) to the source's.

A source whose root joint never moves and has one child (the Bandai Namco rig's
``joint_Root`` above ``Hips``, which carries all the travel) is given to GenMM without
that joint, and the joint is put back afterwards: GenMM's loader takes root motion from
the first joint only and would otherwise keep the hips fixed.

Outputs are cached in ``workdir/genmm`` by (clip digest, frames, seed, GenMM's config,
the driver), so a rerun reads them back; the returned seconds are those GenMM took when
it ran (``GenMM.run``, the pyramid and its match-and-blend steps, without the process
start and torch's import, which ``motion.meta["genmm"]["process_seconds"]`` holds).
"""
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from ..io.bvh import BvhFile, read_bvh, write_bvh
from ..motion import quat
from ..motion.skeleton import Motion

ENV = "MOTIONDNA_GENMM"
ENV_PYTHON = "MOTIONDNA_GENMM_PYTHON"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, "tools", "genmm_driver.py")
CACHE_VERSION = 1
UP_AXES = ("X_UP", "Y_UP", "Z_UP")


class GenMMError(RuntimeError):
    """GenMM could not run, or its output does not fit the source clip."""


@dataclass(frozen=True)
class GenMM:
    root: str    # the checkout (the folder with GenMM.py)
    python: str  # the interpreter that has GenMM's packages


def find_genmm(path=None):
    """GenMM's checkout at ``path``, else at $MOTIONDNA_GENMM; None when neither names a
    folder with GenMM.py, or when it has no interpreter: $MOTIONDNA_GENMM_PYTHON, else
    the checkout's own .venv."""
    root = path or os.environ.get(ENV)
    if not root:
        return None
    root = os.path.abspath(os.path.expanduser(str(root)))
    if not os.path.isfile(os.path.join(root, "GenMM.py")):
        return None
    candidates = [os.environ.get(ENV_PYTHON)] if os.environ.get(ENV_PYTHON) else [
        os.path.join(root, ".venv", "bin", "python"), os.path.join(root, ".venv", "Scripts", "python.exe")]
    for python in candidates:
        if os.path.isfile(python) and os.access(python, os.X_OK):
            return GenMM(root, python)
    return None


def generate(genmm, clip_path, num_frames, seed, workdir, resample=True, threads=1, timeout=1800):
    """One GenMM generation of ``num_frames`` frames (at the clip's rate) from the BVH
    clip at ``clip_path``: ``(motion, seconds)``.

    ``motion`` has the source's skeleton and, with ``resample``, its frame rate and
    exactly ``num_frames`` frames; without, GenMM's own frames at the rate it used.
    ``seconds`` is GenMM's generation wall time with ``threads`` torch threads (one: on the
    shared 2-core machine two threads run 3 x slower as soon as anything else runs; the
    result does not depend on it and a cached entry keeps the time it was made with).
    Raises GenMMError when GenMM fails.
    """
    if genmm is None:
        raise GenMMError("GenMM was not found (set $MOTIONDNA_GENMM to its checkout)")
    num_frames = int(num_frames)
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2, got {num_frames}")
    source = read_bvh(clip_path)
    src_motion = source.to_motion()  # as the benchmark loads a clip
    up = src_motion.skeleton.up_axis
    dropped = static_root(source)
    cache = os.path.join(os.path.abspath(workdir), "genmm")
    os.makedirs(cache, exist_ok=True)
    key = cache_key(genmm, clip_path, num_frames, seed, up)
    base = os.path.join(cache, f"{source.name}-{key}-n{num_frames}-s{int(seed)}")
    out_bvh, out_json = base + ".bvh", base + ".json"
    cached = os.path.isfile(out_bvh) and os.path.isfile(out_json)
    if not cached:
        _run(genmm, source, clip_path, dropped, num_frames, seed, up, base, threads, timeout)
    with open(out_json) as f:
        info = json.load(f)
    motion = restore(read_bvh(out_bvh), source, info["genmm_frame_time"], dropped, up)
    native_fps = motion.fps
    if resample:
        motion = resample_motion(motion, src_motion.fps, num_frames)
    motion.name = f"{source.name}_genmm_s{int(seed)}"
    motion.meta["genmm"] = {k: v for k, v in info.items() if k != "names"} | {
        "cached": cached, "native_fps": native_fps, "dropped_root": None if dropped is None else source.names[dropped],
        "output": out_bvh}
    return motion, float(info["seconds"])


def cache_key(genmm, clip_path, num_frames, seed, up_axis):
    """A digest of everything a generation depends on."""
    h = hashlib.sha256(f"v{CACHE_VERSION} n{int(num_frames)} s{int(seed)} up{int(up_axis)}".encode())
    for path in (clip_path, os.path.join(genmm.root, "configs", "default.yaml"), os.path.join(genmm.root, "GenMM.py"), DRIVER):
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:12]


def _run(genmm, source, clip_path, dropped, num_frames, seed, up, base, threads, timeout):
    if not os.path.isfile(DRIVER):
        raise GenMMError(f"{DRIVER} is missing (the benchmark runs from the repository)")
    partial = base + ".partial"
    clip = os.path.abspath(clip_path)
    if dropped is not None:
        clip = partial + "-input.bvh"
        reduced = drop_root(source)
        write_bvh(clip, reduced, reduced.to_motion(up))
    cmd = [genmm.python, DRIVER, "--genmm", genmm.root, "--input", clip, "--output", partial + ".bvh",
           "--info", partial + ".json", "--source-frames", str(num_frames), "--seed", str(int(seed)),
           "--up-axis", UP_AXES[up], "--device", "cpu", "--threads", str(int(threads))]
    t0 = time.perf_counter()
    with open(base + ".log", "w") as log:
        try:
            rc = subprocess.run(cmd, cwd=genmm.root, stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - t0
    if rc != 0 or not (os.path.isfile(partial + ".bvh") and os.path.isfile(partial + ".json")):
        with open(base + ".log", errors="replace") as f:
            tail = f.read()[-1500:]
        raise GenMMError(f"GenMM failed on {source.name} (exit {rc}); {base}.log ends:\n{tail}")
    with open(partial + ".json") as f:
        info = json.load(f)
    info["process_seconds"] = wall
    with open(partial + ".json", "w") as f:
        json.dump(info, f, indent=1)
    os.replace(partial + ".bvh", base + ".bvh")
    os.replace(partial + ".json", base + ".json")  # last: its presence marks a complete entry
    if dropped is not None:
        os.remove(clip)


# ---------------------------------------------------------------------------------------
# what GenMM's writer loses, put back

def static_root(source, tolerance=1e-6):
    """Index of a root joint that GenMM would mistake for the body's root: the first
    joint, constant over the clip, with a single child that has position channels; else None."""
    children = np.flatnonzero(source.parents == 0)
    if source.parents[0] != -1 or len(children) != 1 or source.num_frames < 1:
        return None
    if not any(c.endswith("position") for c in source.channels[children[0]]):
        return None
    n = len(source.channels[0])
    if n and np.ptp(source.frames[:, :n], axis=0).max() > tolerance:
        return None
    return 0


def drop_root(source):
    """The clip without its first joint (see ``static_root``): the child becomes the root."""
    n = len(source.channels[0])
    return BvhFile(list(source.names[1:]), np.where(source.parents[1:] > 0, source.parents[1:] - 1, -1),
                   source.offsets[1:].copy(), list(source.channels[1:]),
                   [(j - 1, off) for j, off in source.end_sites if j > 0], source.frame_time,
                   source.frames[:, n:].copy(), source.name, dict(source.meta))


def restore(generated, source, frame_time, dropped=None, up_axis=None):
    """GenMM's output ``generated`` (a BvhFile) as a Motion on ``source``'s skeleton.

    Joints are matched by order (GenMM writes them in the file order it read, under
    names stripped of any ``prefix:``), checked by their parents; ``frame_time`` is the
    one GenMM worked at (its writer puts 1). ``dropped``: the source joint that GenMM was
    not given (``static_root``), put back with its constant pose.
    """
    src_motion = source.to_motion(up_axis)
    skel = src_motion.skeleton
    keep = [j for j in range(source.num_joints) if j != dropped]
    expected = np.array([-1 if p == dropped or p < 0 else keep.index(p) for p in source.parents[keep]])
    if generated.num_joints != len(keep):
        raise GenMMError(f"GenMM wrote {generated.num_joints} joints, the source has {len(keep)}")
    if not np.array_equal(generated.parents, expected):
        raise GenMMError("GenMM's joints do not follow the source's hierarchy (they are matched by order)")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise GenMMError(f"frame time must be positive, got {frame_time}")
    out = BvhFile([source.names[j] for j in keep], generated.parents, generated.offsets, generated.channels,
                  generated.end_sites, float(frame_time), generated.frames, source.name, {})
    m = out.to_motion(skel.up_axis)
    rotations = np.empty((m.num_frames, skel.num_joints, 4))
    translations = np.empty((m.num_frames, skel.num_joints, 3))
    rotations[:, keep], translations[:, keep] = m.rotations, m.translations
    if dropped is not None:
        rotations[:, dropped] = src_motion.rotations[0, dropped]
        translations[:, dropped] = src_motion.translations[0, dropped]
    return Motion(skel, rotations, translations, 1.0 / float(frame_time), f"{source.name}_genmm", {})


def resample_motion(motion, fps, num_frames):
    """``num_frames`` frames at ``fps`` from the start of ``motion`` (slerp / lerp); the
    last frame is held past the motion's end."""
    t = np.arange(int(num_frames)) / float(fps) * motion.fps
    t = np.clip(t, 0.0, motion.num_frames - 1)
    i0 = np.minimum(np.floor(t).astype(int), max(motion.num_frames - 2, 0))
    i1 = np.minimum(i0 + 1, motion.num_frames - 1)
    a = (t - i0)[:, None]
    rot = quat.normalize(quat.slerp(motion.rotations[i0], motion.rotations[i1], a))
    trans = motion.translations[i0] * (1.0 - a[..., None]) + motion.translations[i1] * a[..., None]
    return Motion(motion.skeleton, rot, trans, fps, motion.name, dict(motion.meta))
