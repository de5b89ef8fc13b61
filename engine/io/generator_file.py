"""The ``.mdna`` generator file: tensors + JSON meta in engine/fileformat.py's safe container.

Arrays: the motion DNA (engine/dna.py), the deviation basis and the network weights
(engine/model.py ``to_arrays``), all float32/float64, no pickle. Meta: format version,
skeleton, fps, source clip length, name and hash, DNA summary, network hyper-parameters,
training settings and build info. ``load`` refuses corrupt, truncated, foreign and newer
files (fileformat) and files whose arrays do not fit their meta (checked here).
"""
import numpy as np

from ..motion.skeleton import Skeleton
from . import fileformat

KIND, VERSION = "motiondna.generator", 2
OLDEST_VERSION = 2  # version 1 files lack the network's layout: rebuild them

REQUIRED_ARRAYS = ("codes", "basis", "mean", "scale", "trajectory", "phase", "joint_translations",
                   "forward_local", "first_state", "first_heading", "first_ground", "dev_basis",
                   "w1_dev", "w1_code", "w1_target", "b1", "w2", "b2", "w3", "b3")
NETWORK_WEIGHTS = ("w1_dev", "w1_code", "w1_target", "b1", "w2", "b2", "w3", "b3")
REQUIRED_META = ("skeleton", "fps", "num_frames", "layout", "network", "dna_info")


def save(path, arrays, meta):
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"generator is missing arrays: {', '.join(missing)}")
    meta = dict(meta, format_version=VERSION)
    fileformat.write(path, KIND, VERSION, arrays, meta)


def load(path):
    """(arrays, meta) of a generator file; FormatError with a clear message if unusable."""
    arrays, meta = fileformat.read(path, KIND, VERSION)
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    found = meta.get("format_version", VERSION)
    if isinstance(found, bool) or not isinstance(found, int) or found < OLDEST_VERSION:
        raise fileformat.FormatError(f"{name}: format version {meta.get('format_version')} is older than this add-on "
                                     f"reads ({OLDEST_VERSION}); rebuild the generator")
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays] + [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise fileformat.FormatError(f"{name}: incomplete generator file (missing {', '.join(missing)}); rebuild it")
    try:
        skeleton = Skeleton.from_dict(meta["skeleton"])
    except (KeyError, TypeError, ValueError) as e:
        raise fileformat.FormatError(f"{name}: the stored skeleton is invalid ({e}); rebuild the generator") from None
    _check_meta(name, meta, skeleton)
    try:
        _check_shapes(name, arrays, meta, skeleton)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        if isinstance(e, fileformat.FormatError):
            raise
        raise fileformat.FormatError(f"{name}: inconsistent generator file ({type(e).__name__}: {e}); rebuild it") from None
    return arrays, meta


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _check_meta(name, meta, skeleton):
    """The metadata fields the runtime relies on: present, of the right type, in range."""
    def bad(field, allowed):
        raise fileformat.FormatError(f"{name}: the generator's '{field}' is {allowed}; rebuild it")
    if not (_number(meta["fps"]) and meta["fps"] > 0):
        bad("fps", f"{meta['fps']!r} (a positive frame rate is needed)")
    if not (isinstance(meta["num_frames"], int) and not isinstance(meta["num_frames"], bool) and meta["num_frames"] >= 1):
        bad("num_frames", f"{meta['num_frames']!r} (a whole number of at least 1 is needed)")
    for field in ("layout", "network", "dna_info"):
        if not isinstance(meta[field], dict):
            bad(field, f"a {type(meta[field]).__name__} (an object is needed)")
    network = meta["network"]
    if not _number(network.get("decay")):
        bad("network.decay", f"{network.get('decay')!r} (a number is needed)")
    slots = network.get("slots", [])
    if not (isinstance(slots, list) and all(isinstance(j, int) and not isinstance(j, bool)
                                            and 0 <= j < skeleton.num_joints for j in slots)):
        bad("network.slots", f"{slots!r} (joint indices 0..{skeleton.num_joints - 1} are needed)")


def _loop_frames_fit(info, F):
    """The long-run timeline's frames lie in the clip, and a loop leaves after it enters
    (keys missing in older files take their defaults, as in engine/runtime.py)."""
    try:
        loop_to = int(info.get("loop_to", 0))
        loop_from = int(info.get("loop_from", F - 1))
        starts = [loop_to, int(info.get("end_to", loop_to)), int(info.get("restart_to", loop_to))]
    except (TypeError, ValueError):
        return False
    return all(0 <= f < F for f in starts) and max(starts) <= loop_from <= F - 1


def _check_shapes(name, arrays, meta, skeleton):
    F, D = int(meta["num_frames"]), arrays["mean"].shape[0]
    layout = meta["layout"]
    expect_d = 9 * skeleton.num_joints + 4 + 3 * len(layout.get("moving", []))
    k, m = arrays["basis"].shape[0], arrays["dev_basis"].shape[0]
    checks = [
        (D == expect_d, f"state size {D} does not fit a {skeleton.num_joints}-joint skeleton"),
        (arrays["codes"].shape == (F, k), "DNA codes do not match the clip length"),
        (arrays["basis"].shape == (k, D) and arrays["dev_basis"].shape == (m, D), "bases do not match the state size"),
        (arrays["trajectory"].shape == (F, 4), "trajectory does not match the clip length"),
        (arrays["w1_dev"].shape[0] == m and arrays["w1_code"].shape[0] == k + 1, "network does not match the DNA"),
        (arrays["w3"].shape[1] == m, "network output does not match the deviation basis"),
        # Optional (files from before it roll out unbounded): the deviation's trained range.
        ("dev_limit" not in arrays or (arrays["dev_limit"].shape == (m,) and bool(np.all(arrays["dev_limit"] >= 0))),
         "deviation limit does not match the deviation basis"),
        (_loop_frames_fit(meta["dna_info"], F), "loop frames outside the clip"),
    ]
    for ok, why in checks:
        if not ok:
            raise fileformat.FormatError(f"{name}: inconsistent generator file ({why}); rebuild it")
    for k_, a in arrays.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise fileformat.FormatError(f"{name}: array '{k_}' holds NaN or infinite values; rebuild the generator")


FPS_TOLERANCE = 0.01  # relative: 30 and 30.003 fps (a BVH frame time) are the same rate


def check_fps(generator_meta, fps, where="the scene"):
    """Raise ValueError when ``fps`` is not the generator's frame rate: every generated
    frame is one frame of the clip's time, so at another rate the motion would play too
    fast or too slow."""
    want, fps = float(generator_meta["fps"]), float(fps)
    if not abs(fps - want) <= FPS_TOLERANCE * want:
        speed = fps / want if fps > 0 else float("inf")
        how = f"{speed:.2g}x too fast" if speed > 1 else f"{1 / speed:.2g}x too slow"
        raise ValueError(f"the generator was built at {want:.4g} fps and {where} runs at {fps:.4g} fps: its motion "
                         f"would play {how}; set the frame rate to {want:.4g} fps or build a generator on this clip")


def check_compatible(generator_meta, skeleton):
    """Raise ValueError if ``skeleton`` (e.g. the armature a generator is applied to) lacks
    a joint the generator drives or arranges joints differently; None when compatible."""
    stored = Skeleton.from_dict(generator_meta["skeleton"])
    names = set(skeleton.names)
    for n in stored.names:
        if n not in names:
            raise ValueError(f"the armature does not fit this generator: missing joint '{n}' "
                             f"(the generator was built on a {stored.num_joints}-joint rig)")
    for j, n in enumerate(stored.names):
        p = stored.parents[j]
        want = stored.names[p] if p >= 0 else None
        q = skeleton.parents[skeleton.index(n)]
        have = skeleton.names[q] if q >= 0 else None
        if want != have:
            raise ValueError(f"the armature does not fit this generator: joint '{n}' has parent "
                             f"'{have}', the generator expects '{want}'")
    _check_rest_pose(stored, skeleton)
    return None


REST_POSITION_TOLERANCE = 0.02   # of the body span, after removing a uniform scale
REST_ANGLE_TOLERANCE_DEG = 5.0   # bone axes: a re-exported rig often rolls or flips them
REST_SCALE_TOLERANCE = 0.01


def _check_rest_pose(stored, skeleton):
    """The generator's rotations are relative to its rest pose: on a rig with the same
    names but other rest offsets, bone axes or size (the rig exported to FBX or glTF and
    imported again) they would pose the body wrongly, so such a rig is refused."""
    index = [skeleton.index(n) for n in stored.names]
    want_rot, want_pos = stored.rest_transforms()
    have_rot, have_pos = skeleton.rest_transforms()
    have_rot, have_pos = have_rot[index], have_pos[index]
    root = stored.root
    want_pos, have_pos = want_pos - want_pos[root], have_pos - have_pos[root]
    bones = stored.parents >= 0
    want_len = np.linalg.norm(stored.rest_translations[bones], axis=-1).sum()
    have_len = np.linalg.norm(skeleton.rest_translations[index][bones], axis=-1).sum()
    if want_len <= 0:
        return
    scale = have_len / want_len
    span = max(stored.span(), 1e-9)
    off = np.linalg.norm(have_pos / max(scale, 1e-9) - want_pos, axis=-1) / span
    worst = int(np.argmax(off))
    if off[worst] > REST_POSITION_TOLERANCE:
        raise ValueError(f"the armature does not fit this generator: its rest pose differs (joint "
                         f"'{stored.names[worst]}' is {100 * off[worst]:.0f} % of the body away from where the "
                         f"generator expects it); build a generator on this rig instead")
    dot = np.abs(np.sum(have_rot * want_rot, axis=-1)).clip(0.0, 1.0)
    angle = np.degrees(2 * np.arccos(dot))
    worst = int(np.argmax(angle))
    if angle[worst] > REST_ANGLE_TOLERANCE_DEG:
        raise ValueError(f"the armature does not fit this generator: bone '{stored.names[worst]}' rests "
                         f"turned {angle[worst]:.0f} degrees from the generator's rig (re-exported rigs often "
                         f"change bone axes); build a generator on this rig instead")
    if abs(scale - 1.0) > REST_SCALE_TOLERANCE:
        raise ValueError(f"the armature does not fit this generator: its bones are {scale:.3g} times the "
                         f"length of the generator's rig; scale the armature object instead of its bones, "
                         f"or build a generator on this rig")
