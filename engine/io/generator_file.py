"""The ``.mdna`` generator file: arrays + JSON meta in engine/fileformat.py's safe container.

Arrays: the exact clip (pose rotations, the translations that move, the constant ones),
the heading reference and the motion graph (engine/generator/graph.py: jump landings and
costs per frame), all numeric, no pickle. Meta: format version, skeleton, fps, clip
length, name and hash, the DNA summary (speed, rhythm, effectors), the graph's tolerance
and blend, the build settings and build info. ``load`` refuses corrupt, truncated, foreign and newer
files (fileformat) and files whose arrays do not fit their meta (checked here).
"""
import numpy as np

from ..motion.skeleton import Skeleton
from . import fileformat

KIND, VERSION = "motiondna.generator", 3
OLDEST_VERSION = 3  # version 2 files hold a lossy DNA replay and a network instead of the clip: rebuild them

REQUIRED_ARRAYS = ("clip_rotations", "clip_translations", "joint_translations", "forward_local", "jumps", "jump_costs")
REQUIRED_META = ("skeleton", "fps", "num_frames", "layout", "graph", "dna_info")


def save(path, arrays, meta):
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"generator is missing arrays: {', '.join(missing)}")
    meta = dict(meta, format_version=VERSION)
    arrays = dict(arrays, clip_rotations=shuffle_rotations(arrays["clip_rotations"]))
    fileformat.write(path, KIND, VERSION, arrays, meta)


def shuffle_rotations(rotations):
    """The clip's float32 rotations (F, J, 4) stored joint-major with their bytes grouped by
    significance (4, F * J * 4) uint8: mocap floats barely deflate as they are, but their
    exponent and high mantissa bytes repeat from frame to frame (a third smaller file)."""
    joint_major = np.ascontiguousarray(np.asarray(rotations, dtype=np.float32).transpose(1, 2, 0))
    return np.ascontiguousarray(joint_major.view(np.uint8).reshape(-1, 4).T)


def unshuffle_rotations(stored, num_frames, num_joints):
    """The inverse of ``shuffle_rotations``; ValueError when ``stored`` does not fit."""
    if stored.dtype != np.uint8 or stored.shape != (4, num_frames * num_joints * 4):
        raise ValueError("clip rotations do not match the clip length and skeleton")
    values = np.ascontiguousarray(stored.T).view(np.float32).reshape(num_joints, 4, num_frames)
    return np.ascontiguousarray(values.transpose(2, 0, 1))


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
        arrays["clip_rotations"] = unshuffle_rotations(arrays["clip_rotations"], int(meta["num_frames"]),
                                                       skeleton.num_joints)
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
    for field in ("layout", "graph", "dna_info"):
        if not isinstance(meta[field], dict):
            bad(field, f"a {type(meta[field]).__name__} (an object is needed)")
    for field in ("tolerance", "half_life_s", "mean_stretch_s"):
        value = meta["graph"].get(field)
        if not (_number(value) and value > 0):
            bad(f"graph.{field}", f"{value!r} (a positive number is needed)")
    moving = meta["layout"].get("moving", [])
    if not (isinstance(moving, list) and all(isinstance(j, int) and not isinstance(j, bool)
                                             and 0 <= j < skeleton.num_joints and j != skeleton.root for j in moving)):
        bad("layout.moving", f"{moving!r} (joint indices other than the root are needed)")


def _check_shapes(name, arrays, meta, skeleton):
    F, J = int(meta["num_frames"]), skeleton.num_joints
    carried = 1 + len(meta["layout"].get("moving", []))
    jumps = arrays["jumps"]
    checks = [
        (int(meta["layout"].get("num_joints", -1)) == J, f"layout does not fit a {J}-joint skeleton"),
        (arrays["clip_rotations"].shape == (F, J, 4), "clip rotations do not match the clip length and skeleton"),
        (arrays["clip_translations"].shape == (F, carried, 3), "clip translations do not match the moving joints"),
        (arrays["joint_translations"].shape == (J, 3), "joint translations do not match the skeleton"),
        (arrays["forward_local"].shape == (3,), "the heading reference is not a 3-vector"),
        (jumps.ndim == 2 and jumps.shape[0] == F and jumps.shape[1] >= 1 and arrays["jump_costs"].shape == jumps.shape,
         "the motion graph does not match the clip length"),
        (jumps.dtype.kind in "iu" and bool(np.all((jumps >= 1) & (jumps < F))), "motion graph jumps land outside the clip"),
    ]
    for ok, why in checks:
        if not ok:
            raise fileformat.FormatError(f"{name}: inconsistent generator file ({why}); rebuild it")
    for k_, a in arrays.items():
        if a.dtype.kind == "f" and k_ != "jump_costs" and not np.all(np.isfinite(a)):
            raise fileformat.FormatError(f"{name}: array '{k_}' holds NaN or infinite values; rebuild the generator")
    if np.any(np.isnan(arrays["jump_costs"])):
        raise fileformat.FormatError(f"{name}: array 'jump_costs' holds NaN values; rebuild the generator")


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
