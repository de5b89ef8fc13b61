"""Public Python API for technical artists: the functions the operators and the command
line use, callable from Blender's Python console, a script in the UI, ``blender
--background --python``, and the bpy module. Everything runs synchronously; builds run in
the engine worker (a separate process, by default on Blender's own Python).

Import it with one line, in Blender (whatever extension repository MotionDNA was installed
into, once it is enabled) and in this repository with the bpy module alike::

    from motiondna import api

Joints are bone names, positions are world space and frames are scene frames everywhere
in this module. Example (the README's "Scripting" section runs a longer version as a test)::

    arm = api.import_bvh("data/jumping_jacks.bvh")          # or bpy.data.objects["Armature"]
    api.build_generator(arm)                                # builds in the worker, stores it in arm
    api.add_target(arm, "RightWrist", frame=60, location=(0.3, -0.2, 1.9))
    action = api.generate(arm)                              # new action "<source>.mdna"
    take = api.generate_variation(arm, frames=600, seed=3)  # new action "<source>.var3"
    motion = api.generator(arm).generate(                   # no empties, no action: a Motion
        targets=[{"joint": "RightWrist", "frame": 60, "location": (0.3, -0.2, 1.9)}])
    api.save_generator(arm, "/tmp/jj.mdna")
    print(api.generator_file_info("/tmp/jj.mdna")["frames"])

Errors a user can fix raise ``ValueError`` (``engine.fileformat.FormatError`` is one)
with a sentence saying what to do; engine failures raise ``worker_client.WorkerError``,
``WorkerDied`` or ``EngineUnavailable``; calling into an installed but disabled add-on
raises ``NotEnabled``.
"""
from __future__ import annotations

import functools
import numbers
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence

import bpy
import numpy as np

from ..engine.generator.runtime import MAX_FRAMES, Generator
from ..engine.generator.stream import StreamTarget
from ..engine.io import generator_file
from ..engine.motion.skeleton import Motion
from ..engine.motion.targets import parse_targets
from . import EXTENSION_PACKAGE
from .io import armature_io, blend_file, bvh_io, formats
from .library import fromtext as _fromtext
from .scene import bake, build, store
from .scene import play_live as _play_live
from .scene import targets as _targets

PathLike = str | os.PathLike

__all__ = [
    "NotEnabled", "ArmatureGenerator",
    "import_bvh", "import_motion", "build_generator", "has_generator", "generator_info", "generator",
    "add_target", "list_targets", "remove_target", "clear_targets",
    "generate", "generate_variation", "apply_result", "revert", "play_live",
    "save_generator", "load_generator", "generator_file_info",
    "bake_blend",
    "search", "library_index", "generator_from_text",
]


class NotEnabled(RuntimeError):
    """The extension's code is importable but the add-on is not enabled (registered), so
    armatures have no MotionDNA settings yet."""


def _needs_enabled(function):
    """Refuse with what to do, instead of an AttributeError on ``armature.mdna``."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        if not hasattr(bpy.types.Object, "mdna"):
            raise NotEnabled(
                f"MotionDNA is installed but not enabled in this Blender, so api.{function.__name__} cannot "
                f"run: enable it in Edit > Preferences > Add-ons, or in a script with "
                f"addon_utils.enable({EXTENSION_PACKAGE!r}, default_set=True)")
        return function(*args, **kwargs)
    return checked


# -- clips --------------------------------------------------------------------------------

def import_bvh(path: PathLike, up_axis: str | None = None, scale: float = 1.0) -> bpy.types.Object:
    """Import a BVH clip with Blender's importer (axes chosen so the character stands up);
    returns the new armature object, its action active.

    >>> arm = api.import_bvh("data/jumping_jacks.bvh")   # doctest: +SKIP
    """
    armature, _, _ = bvh_io.import_bvh(path, up_axis=up_axis, scale=scale)
    return armature


def import_motion(path: PathLike, **options) -> bpy.types.Object:
    """Import a motion file with Blender's importers by its extension: BVH, FBX, glTF
    (``.glb``/``.gltf``) or an AMASS/SMPL ``.npz``; returns the armature that carries the
    animation. Options per type (``scale``, ``axis_up``, ``model_path`` ...):
    ``io/formats.py``. ValueError for an unsupported, missing or unreadable file."""
    return formats.import_motion_file(path, **options)


# -- generators ---------------------------------------------------------------------------

@_needs_enabled
def build_generator(armature: bpy.types.Object, action: bpy.types.Action | None = None,
                    frame_range: tuple[int, int] | None = None, settings: dict | None = None,
                    on_progress: Callable[[dict], None] | None = None,
                    python: str | None = None, timeout: float | None = None) -> dict:
    """Build a generator from ``armature``'s action (or ``action``): the clip and its
    motion graph, in a fraction of a second. It is stored in the armature (and saved with
    the .blend). Returns the build info (``build_seconds``, ``size_bytes``,
    ``smooth_jumps``, ...).

    ``frame_range``: (first, last) scene frames, default the whole action. ``settings``:
    the graph's settings (docs/engine.md), e.g. ``{"tolerance_s": 0.08}``; unknown names
    and bad values raise ValueError before anything runs. ``on_progress(event)`` gets the
    worker's progress events (``event["fraction"]``, ``event["message"]``). ``python``:
    the engine interpreter (default: the add-on preference, ``$MOTIONDNA_ENGINE_PYTHON``,
    then this Python).

    >>> info = api.build_generator(arm)                     # doctest: +SKIP
    >>> info["size_bytes"] > 0                              # doctest: +SKIP
    True
    """
    return build.build_generator(armature, action, frame_range, settings, on_progress, python, timeout)


@_needs_enabled
def has_generator(armature: bpy.types.Object) -> bool:
    """Whether ``armature`` carries a generator."""
    return store.has_generator(armature)


@_needs_enabled
def generator_info(armature: bpy.types.Object) -> dict:
    """What was recorded when the armature's generator was built or loaded (dict)."""
    return store.generator_info(armature)


@_needs_enabled
def generator(armature: bpy.types.Object) -> ArmatureGenerator:
    """The armature's generator (an ``ArmatureGenerator``: bone names, world positions,
    scene frames). ValueError if it has none."""
    return ArmatureGenerator(armature)


class ArmatureGenerator:
    """An armature's generator addressed as the armature is. ``runtime`` is the engine's
    runtime underneath (armature space, clip frames from 0, joint indices)."""

    def __init__(self, armature):
        self.armature = armature
        self.runtime = store.get_generator(armature)

    @property
    def joints(self):
        return list(self.runtime.skeleton.names)

    @property
    def num_frames(self):
        return self.runtime.num_frames

    @property
    def fps(self):
        return self.runtime.fps

    @property
    def first_frame(self):
        """The scene frame the clip's first frame plays at."""
        return int(self.armature.mdna.clip_frame_start)

    def generate(self, targets: Iterable = (), num_frames: int | None = None, seed: int | None = None,
                 loop: bool = False) -> Motion:
        """The motion (an engine ``Motion`` in armature space, nothing baked) under
        ``targets``: dicts ``{"joint": bone, "frame": scene frame, "location": (x, y, z)}``
        or, moving, ``{"joint", "frames": [...], "locations": [[x, y, z], ...]}``, with an
        optional ``"weight"``; target empties (``add_target``'s) are accepted too.
        ``seed``: a variation of ``num_frames`` frames instead of the clip itself;
        ``loop``: a variation whose last frame flows into its first."""
        n = self.num_frames if num_frames is None else int(num_frames)
        targets = list(targets or ())
        if any(hasattr(t, "mdna_target") for t in targets):
            bpy.context.view_layer.update()  # a new or moved empty's matrix_world is stale until then
        specs = [self._as_spec(t) for t in targets]
        engine_targets = parse_targets({"targets": specs}, self.runtime.skeleton, n,
                                       transform=lambda p: armature_io.world_to_armature(self.armature, p),
                                       first_frame=self.first_frame, frames_named="scene frames", position="location")
        return self.runtime.generate(targets=engine_targets, num_frames=n, seed=seed, loop=loop)

    @staticmethod
    def _as_spec(target):
        """A target dict as it is; a target empty as the dict it stands for."""
        if not hasattr(target, "mdna_target"):
            return target  # parse_targets says what is wrong with it, if anything
        t = target.mdna_target
        return {"joint": t.joint, "frame": t.frame, "location": list(target.matrix_world.translation),
                "weight": t.weight}


@_needs_enabled
def save_generator(armature: bpy.types.Object, path: PathLike) -> str:
    """Write the armature's generator to a ``.mdna`` file; returns the path."""
    _make_parent(path)
    return store.save_bytes(armature, os.fspath(path))


@_needs_enabled
def load_generator(armature: bpy.types.Object, path: PathLike) -> Generator:
    """Put the ``.mdna`` generator in ``path`` onto ``armature``; its joints must match
    (ValueError naming the first missing joint otherwise). Returns the runtime object.
    The clip's frame 0 lands on the scene frame it had when the generator was built."""
    generator = Generator.load(os.fspath(path))
    generator_file.check_compatible(generator.meta, armature_io.skeleton_from_armature(armature))
    scene = bpy.context.scene
    generator_file.check_fps(generator.meta, scene.render.fps / scene.render.fps_base, f"scene '{scene.name}'")
    store.store_generator(armature, os.fspath(path), {"imported_from": os.path.basename(os.fspath(path))})
    recorded = store.generator_info(armature).get("clip_frame_start")
    armature.mdna.clip_frame_start = int(recorded if recorded is not None else bpy.context.scene.frame_start)
    return generator


def generator_file_info(path: PathLike) -> dict:
    """What a ``.mdna`` file holds (the CLI's ``info``): format version, size, source name
    and hash, fps, frames, duration, skeleton, DNA summary (speed, rhythm, effectors, contacts), the
    motion graph (tolerance, smooth jumps, blend half-life), build info and settings.
    FormatError for a bad file."""
    path = os.fspath(path)
    arrays, meta = generator_file.load(path)
    skel = meta["skeleton"]
    names = list(skel["names"])
    dna = dict(meta.get("dna_info", {}))
    graph = dict(meta.get("graph", {}))
    fps, frames = float(meta["fps"]), int(meta["num_frames"])
    return {
        "path": os.path.abspath(path),
        "format_version": int(meta.get("format_version", generator_file.VERSION)),
        "size_bytes": os.path.getsize(path),
        "source_name": meta.get("source_name", ""),
        "source_hash": meta.get("source_hash", ""),
        "fps": fps, "frames": frames, "duration_s": round(frames / fps, 4) if fps else None,
        "skeleton": {"joints": len(names), "names": names, "root": names[0] if names else None,
                     "up_axis": "XYZ"[int(skel.get("up_axis", 2))]},
        "dna": {"speed_mean_m_s": dna.get("speed_mean"), "speed_p95_m_s": dna.get("speed_p95"),
                "rhythm_period_s": dna.get("rhythm_period_s"),
                "effectors": [names[j] for j in dna.get("effectors", []) if 0 <= j < len(names)],
                "contacts": [names[j] for j in dna.get("contacts", []) if 0 <= j < len(names)]},
        "graph": {"tolerance_m": graph.get("tolerance"), "smooth_jumps": dna.get("smooth_jumps"),
                  "candidates": int(arrays["jumps"].shape[1]), "half_life_s": graph.get("half_life_s"),
                  "mean_stretch_s": graph.get("mean_stretch_s")},
        "build": dict(meta.get("build", {})),
        "settings": dict(meta.get("settings", {})),
    }


# -- targets ------------------------------------------------------------------------------

@_needs_enabled
def add_target(armature: bpy.types.Object, joint: str, frame: int | None = None,
               location: Sequence[float] | None = None) -> bpy.types.Object:
    """Add a target empty: bone ``joint`` should be at ``location`` (world space) at scene
    ``frame`` (defaults: the current frame, and where the joint is there). Keyframe the
    empty's location to make it a moving target over its keyed range. Returns the empty."""
    return _targets.add_target(armature, joint, frame, location)


@_needs_enabled
def list_targets(armature: bpy.types.Object) -> list:
    """The armature's target empties (objects; ``empty.mdna_target`` has joint, frame,
    enabled, weight)."""
    return _targets.target_empties(armature)


@_needs_enabled
def remove_target(empty: bpy.types.Object) -> None:
    """Delete one target empty (the object itself)."""
    _targets.remove_target(empty)


@_needs_enabled
def clear_targets(armature: bpy.types.Object) -> int:
    """Remove all of the armature's targets; returns how many there were."""
    return _targets.clear_targets(armature)


# -- generating ---------------------------------------------------------------------------

@_needs_enabled
def generate(armature: bpy.types.Object, as_nla: bool = False, new_action: bool = True) -> bpy.types.Action:
    """Regenerate the armature's clip under its targets into a new action named
    ``<source>.mdna`` (or an NLA strip with ``as_nla``) and play it; the source action is
    never modified. ``new_action=False`` rewrites the previous result action instead of
    adding another (what Live and ``bake`` do). Returns the action.

    Targets that cannot apply (unknown joint, frame outside the clip) are skipped; see
    ``bake.regenerate`` for the detailed result."""
    return bake.regenerate(armature, as_nla=as_nla, reuse_result=not new_action).action


@_needs_enabled
def generate_variation(armature: bpy.types.Object, frames: int | None = None, seed: int = 0, loop: bool = False,
                       use_targets: bool = False, as_nla: bool = False) -> bpy.types.Action:
    """A new motion in the clip's style that recombines its material (other orders,
    repetitions, transitions): ``frames`` long (default: the clip's length), different
    for each ``seed``, a cycle with ``loop``, under the armature's targets with
    ``use_targets``. Goes to a NEW action ``<source>.var<seed>`` (or an NLA strip with
    ``as_nla``) that the armature plays; the source action is never modified."""
    return bake.make_variation(armature, frames=frames, seed=seed, loop=loop, use_targets=use_targets,
                               as_nla=as_nla).action


@_needs_enabled
def apply_result(armature: bpy.types.Object) -> bpy.types.Action:
    """Keep the generated action as the armature's action; returns it."""
    return bake.apply(armature)


@_needs_enabled
def revert(armature: bpy.types.Object) -> bpy.types.Action | None:
    """Play the action the armature had before the result again; returns it."""
    return bake.revert(armature)


# -- Play Live ----------------------------------------------------------------------------

@_needs_enabled
def play_live(armature: bpy.types.Object, schedule: Mapping | Iterable, frames: int, seed: int | None = None,
              start: int = 0, record: bool = True) -> bpy.types.Action | Motion:
    """Play Live as a function: ``frames`` frames of the armature's streaming session
    (what the Play Live button plays as the timeline runs), steered by a target
    ``schedule``, baked into a NEW action ``<source>.live`` (numbered when the name is
    taken) that the armature plays; the source action is never modified. Returns the
    action, or with ``record=False`` the played Motion (nothing baked).

    ``schedule``: {step: [target, ...]} or [(step, [target, ...]), ...]; each list
    replaces the targets from its step on (step 0 is the first frame played, scene frame
    clip start + ``start``). A target is (bone name, (x, y, z) world position, frame)
    with frame a step (the joint there at that step) or None (there from now on), or a
    target empty of this armature (its position now; its key's frame when it is keyed
    at one frame). ``seed``: None plays the clip from its frame ``start`` (then its
    walk), a number the walk of that seed. ValueError for what cannot play, naming it.

    >>> api.play_live(arm, {0: [("RightWrist", (0.3, -0.2, 1.9), None)]}, frames=120)  # doctest: +SKIP
    """
    generator = store.get_generator(armature)
    if not _whole(frames, 1) or frames > MAX_FRAMES:
        raise ValueError(f"frames must be a whole number from 1 to {MAX_FRAMES}, not {frames!r}")
    if not _whole(start, 0) or start >= generator.num_frames:
        raise ValueError(f"start must be a clip frame 0..{generator.num_frames - 1}, not {start!r}")
    first_frame = int(armature.mdna.clip_frame_start) + int(start)
    steps = {}
    for step, specs in _schedule_items(schedule, int(frames)):
        steps[step] = [_stream_target(armature, generator.skeleton, spec, step, first_frame) for spec in specs]
    return _play_live.play(armature, steps, int(frames), seed=seed, start=int(start), record=record)


def _whole(value, minimum):
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)) and value >= minimum


def _schedule_items(schedule, frames):
    """(step, targets) pairs of a schedule given as a dict or as pairs, checked."""
    items = schedule.items() if isinstance(schedule, Mapping) else schedule
    out = []
    for item in items:
        try:
            step, specs = item
            specs = list(specs)
        except (TypeError, ValueError):
            raise ValueError(f"a schedule entry is (step, [targets]), not {item!r}") from None
        if not _whole(step, 0) or step >= frames:
            raise ValueError(f"schedule step {step!r} is not a step 0..{frames - 1} of the {frames} frames played")
        out.append((int(step), specs))
    return out


def _stream_target(armature, skeleton, spec, step, first_frame):
    """One schedule target as a StreamTarget (armature space, its frame a step)."""
    if hasattr(spec, "mdna_target"):
        spec = _empty_spec(armature, spec, first_frame)
    try:
        joint, position, frame = spec
    except (TypeError, ValueError):
        raise ValueError(f"a target is (bone name, (x, y, z), frame or None) or a target empty, not {spec!r}") from None
    if joint not in skeleton.names:
        raise ValueError(f"target at step {step}: the generator of '{armature.name}' has no joint {joint!r}")
    try:
        world = np.asarray(position, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"target on '{joint}' at step {step}: the position is (x, y, z), not {position!r}") from None
    if not np.all(np.isfinite(world)):
        raise ValueError(f"target on '{joint}' at step {step}: the position is NaN or infinite")
    if frame is not None and (not _whole(frame, 0) or frame < step):
        raise ValueError(f"target on '{joint}' at step {step}: its frame is a step from {step} on, "
                         f"or None for 'from now on', not {frame!r}")
    return StreamTarget(skeleton.index(joint), armature_io.world_to_armature(armature, world[None])[0], frame)


def _empty_spec(armature, empty, first_frame):
    owner = empty.mdna_target.armature
    if owner != armature:
        whose = f"armature '{owner.name}'" if owner is not None else "no armature"
        raise ValueError(f"target empty '{empty.name}' belongs to {whose}, not to '{armature.name}'")
    bpy.context.view_layer.update()  # a new or moved empty's matrix_world is stale until then
    keyed = _play_live.single_key_frame(empty)
    return empty.mdna_target.joint, tuple(empty.matrix_world.translation), (
        None if keyed is None else keyed - first_frame)


# -- .blend files -------------------------------------------------------------------------

@_needs_enabled
def bake_blend(path: PathLike, out: PathLike | None = None, in_place: bool = False,
               armatures: Sequence[str] | None = None, as_nla: bool = False,
               seeds: Sequence[int] | None = None, frames: int | None = None, loop: bool = False) -> dict:
    """Open a .blend, regenerate every armature that has a generator (or those named in
    ``armatures``) from its target empties, and save to ``out`` (or over ``path`` with
    ``in_place``). With ``seeds``, make one variation per seed instead (``frames`` long,
    a cycle with ``loop``; new actions ``<source>.var<seed>``, the targets apply too).
    Rebaking rewrites the same result action, so it does not pile up actions.
    The first in-place bake of a file keeps its original beside it as
    ``<name>.mdna-orig.blend`` (later bakes leave that copy alone; Blender's ``.blend1``
    holds the version before the last save).

    Returns {"file", "out", "armatures": [{"name", "action", "frames", "targets",
    "skipped", "unreached", "max_error", "seconds"}]}, one entry per variation with ``seeds``
    (``max_error`` in world units;
    ``unreached``: joints that stayed visibly away from their target). ValueError when the file cannot be opened or
    holds no armature with a generator. This replaces the open file (like File > Open)."""
    path = os.path.abspath(os.fspath(path))
    if bool(out) == bool(in_place):
        raise ValueError("say where the result goes: an output .blend, or in place")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if not blend_file.looks_like_blend(path):
        raise ValueError(f"{os.path.basename(path)}: not a .blend file")
    try:
        bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    except RuntimeError as e:
        raise ValueError(f"{os.path.basename(path)}: Blender could not open it ({str(e).strip()})") from None
    found = [o for o in bpy.data.objects if o.type == 'ARMATURE' and store.has_generator(o)]
    if armatures:
        missing = sorted(set(armatures) - {o.name for o in found})
        if missing:
            raise ValueError(f"{os.path.basename(path)}: no armature with a generator named "
                             f"{', '.join(repr(m) for m in missing)} (have: {', '.join(o.name for o in found) or 'none'})")
        found = [o for o in found if o.name in set(armatures)]
    if not found:
        raise ValueError(f"{os.path.basename(path)}: no armature with a MotionDNA generator; build one first")
    report = []
    runs = [(arm, seed) for arm in found for seed in (seeds if seeds is not None else [None])]
    for arm, seed in runs:
        if seed is None:
            result = bake.regenerate(arm, as_nla=as_nla, reuse_result=True)
        else:
            result = bake.make_variation(arm, frames=frames, seed=seed, loop=loop, use_targets=True, as_nla=as_nla)
        scale = bake.world_scale(arm)
        report.append({"name": arm.name, "seed": seed, "action": result.action.name, "frames": result.motion.num_frames,
                       "targets": len(result.targets),
                       "skipped": [f"{name}: {why}" for name, why in result.skipped],
                       "unreached": [name for name, _ in getattr(result, "unreached", [])],
                       "max_error": round(max(result.errors) * scale, 6) if result.errors else None,
                       "seconds": round(result.seconds, 4)})
    target = path if in_place else os.path.abspath(os.fspath(out))
    _make_parent(target)
    original = original_copy_path(path)
    if in_place and not os.path.exists(original):
        shutil.copy2(path, original)
    bpy.ops.wm.save_as_mainfile(filepath=target, check_existing=False)
    return {"file": path, "out": target, "armatures": report,
            "original": original if in_place else None}


ORIGINAL_SUFFIX = ".mdna-orig.blend"


def original_copy_path(path: PathLike) -> str:
    """Where the first in-place bake of ``path`` keeps the file as it was."""
    path = os.path.abspath(os.fspath(path))
    return os.path.splitext(path)[0] + ORIGINAL_SUFFIX


def _make_parent(path):
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(parent, exist_ok=True)


# -- from text -----------------------------------------------------------------------------

def search(prompt: str, top: int = 10, min_duration: float | None = None, max_duration: float | None = None,
           rigs: Sequence[str] = (), min_travel: float | None = None, max_travel: float | None = None,
           files_only: bool = False, library: Sequence[PathLike] = ()) -> list[dict]:
    """Motion library entries for a text prompt, best first (docs/library.md): dicts with
    ``description``, ``duration`` (s), ``rig``, ``score``, ``kind`` ("file", "action" in this
    .blend, or "trial": a CMU trial to fetch, ``fetch`` says where), ``path`` and the motion
    features (``speed`` m/s, ``travel`` m, ``limbs``). ``library``: saved index files
    (``library_index``); default the bundled starter library and the CMU trial index.

    >>> api.search("a boxer throws punches", top=3)[0]["description"]   # doctest: +SKIP
    'Punching'
    """
    from ..engine.library.search import Filters
    filters = Filters(min_duration, max_duration, tuple(rigs), min_travel, max_travel, files_only)
    return _fromtext.search(prompt, top, filters, [os.fspath(p) for p in library] or None)


def library_index(paths: Iterable[PathLike], out: PathLike) -> dict:
    """Index the motion files under ``paths`` (BVH, gzipped BVH, AMASS .npz; FBX and glTF
    through Blender's importers) into ``out``
    (.json and .npy beside it); an existing ``out`` is updated (only changed files are
    read again). Returns the counts: files, read, reused, embedded, skipped, seconds."""
    from ..engine.library import index as library
    out = os.fspath(out)
    previous = library.Index.load(out) if os.path.isfile(out if out.endswith(".json") else out + ".json") else None
    from .library import files as library_files
    idx, stats = library.update_index([os.fspath(p) for p in paths], previous, readers=library_files.READERS)
    idx.save(out)
    return dict(stats, skipped_files=[{"path": p, "reason": r} for p, r in idx.skipped])


@_needs_enabled
def generator_from_text(armature: bpy.types.Object, prompt: str, seed: int = 0, mapping: dict | None = None,
                        entry: dict | None = None, backend=None, library: Sequence[PathLike] = (),
                        on_progress: Callable[[dict], None] | None = None) -> dict:
    """Find a motion for ``prompt`` (the best library clip, ``entry`` from ``search``, or
    ``backend``'s answer: engine/library/backends.py), retarget it onto ``armature`` as a
    new action ``<description>.fromtext`` (the armature's other actions are untouched) and
    build its generator. ``mapping``: {armature bone: clip bone}, default from the rig
    presets and the skeletons. Returns what was used (source, description, action, bones
    mapped, scale) and the build info.

    >>> report = api.generator_from_text(arm, "jumping jacks")   # doctest: +SKIP
    """
    return _fromtext.generator_from_text(armature, prompt, backend=backend, seed=seed, mapping=mapping, entry=entry,
                                         paths=[os.fspath(p) for p in library] or None, on_progress=on_progress)
