"""SMPL-family motion (AMASS-style .npz) <-> engine Motion. Numpy only: no bpy, no torch.

Body models and their kinematic trees (joint order = the order of the axis-angle
``poses`` columns, 3 per joint):

- ``smpl``  : 24 joints (22 body joints + left_hand, right_hand), poses (F, 72)
- ``smplh`` : 52 joints (22 body + 15 left-hand + 15 right-hand), poses (F, 156)
- ``smplx`` : 55 joints (22 body + jaw, left_eye, right_eye + 2 x 15 hand), poses (F, 165)
- ``body``  : the 22 body joints alone, poses (F, 66)

Each joint's axis-angle rotation is relative to its parent, in the body model's frame
(Y up, Z forward, X to the body's left); the model's rest pose has identity rotations,
so a Motion built here has identity rest rotations and rest translations = the offsets
between rest joint locations (``J``). The pelvis turns about its own rest location:
pelvis(t) = trans(t) + J[0], which is how SMPL / smplx place the body.

Coordinate frame of the clip (``up``): AMASS stores its clips Z-up (the mocap world; the
root rotation already stands the body up); most SMPL fits from video are Y-up (the model
frame). The engine skeleton is Z-up like Blender. The root joint's REST rotation stands
the model frame up (Y up -> Z up, facing -Y), so the rest pose is a standing body; only
the root's pose rotation and the root translation carry the clip's frame.

Joint locations:
- ``joints_from_model(model_file, betas)``: EXACT, J = J_regressor (v_template + S betas),
  the same computation as smplx (``smplx.lbs``), from the user's own body-model .npz
  (we cannot ship body models: they are licensed by the MPI).
- ``default_joints(model_type)`` when the user has no model file: the published SMPL
  zero-shape rest joints (see DEFAULT_BODY_OFFSETS) for the 22 body joints and the two
  SMPL hand joints. There is no public default for the finger, jaw and eye joints: without
  a model file an SMPL-H/SMPL-X clip is read as its 22 body joints (``read_amass`` says
  so in ``motion.meta["dropped_joints"]``).
"""
import os
import warnings

import numpy as np

from ..motion import quat
from ..motion.skeleton import Motion, Skeleton, forward_kinematics
from . import atomic

BODY_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist"]
BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]
FINGERS = ["index", "middle", "pinky", "ring", "thumb"]


def _hand(side, wrist, first):
    """15 finger joints (3 per finger, smplx order) of one hand starting at index ``first``."""
    names, parents = [], []
    for f in FINGERS:
        for k in range(1, 4):
            names.append(f"{side}_{f}{k}")
            parents.append(wrist if k == 1 else first + len(names) - 2)
    return names, parents


def _tree(model_type):
    names, parents = list(BODY_NAMES), list(BODY_PARENTS)
    if model_type == "body":
        return names, parents
    if model_type == "smpl":
        return names + ["left_hand", "right_hand"], parents + [20, 21]
    if model_type == "smplx":
        names += ["jaw", "left_eye_smplhf", "right_eye_smplhf"]
        parents += [15, 15, 15]
    if model_type not in ("smplh", "smplx"):
        raise ValueError(f"unknown body model '{model_type}'; use one of {', '.join(MODEL_TYPES)}")
    left, lp = _hand("left", 20, len(names))
    names, parents = names + left, parents + lp
    right, rp = _hand("right", 21, len(names))
    return names + right, parents + rp


MODEL_TYPES = ("smpl", "smplh", "smplx", "body")
NUM_JOINTS = {"body": 22, "smpl": 24, "smplh": 52, "smplx": 55}


def joint_names(model_type):
    return _tree(model_type)[0]


def joint_parents(model_type):
    return np.array(_tree(model_type)[1], dtype=np.int64)


# Default rest offsets, metres. Source: the SMPL humanoid of PHC / ProtoMotions
# (github.com/ZhengyiLuo/PHC, ProtoMotions `data/assets/mjcf/smpl_humanoid.xml`), which is
# generated from the SMPL NEUTRAL model with zero shape: each <body pos> is the offset of
# a joint from its parent's rest location. Typed in as published, in that file's frame
# (x forward, y left, z up); _mjcf_to_smpl turns them into SMPL's (x left, y up, z forward).
# The pelvis row is the pelvis rest location J[0] itself, already in SMPL's frame.
DEFAULT_PELVIS = (-0.0018, -0.2233, 0.0282)
DEFAULT_BODY_OFFSETS = {     # joint: (x forward, y left, z up) from the parent
    "left_hip": (-0.0068, 0.0695, -0.0914), "left_knee": (-0.0045, 0.0343, -0.3752),
    "left_ankle": (-0.0437, -0.0136, -0.3980), "left_foot": (0.1193, 0.0264, -0.0558),
    "right_hip": (-0.0043, -0.0677, -0.0905), "right_knee": (-0.0089, -0.0383, -0.3826),
    "right_ankle": (-0.0423, 0.0158, -0.3984), "right_foot": (0.1233, -0.0254, -0.0481),
    "spine1": (-0.0267, -0.0025, 0.1090), "spine2": (0.0011, 0.0055, 0.1352),
    "spine3": (0.0254, 0.0015, 0.0529), "neck": (-0.0429, -0.0028, 0.2139),
    "head": (0.0513, 0.0052, 0.0650), "left_collar": (-0.0341, 0.0788, 0.1217),
    "left_shoulder": (-0.0089, 0.0910, 0.0305), "left_elbow": (-0.0275, 0.2596, -0.0128),
    "left_wrist": (-0.0012, 0.2492, 0.0090), "left_hand": (-0.0149, 0.0840, -0.0082),
    "right_collar": (-0.0386, -0.0818, 0.1188), "right_shoulder": (-0.0091, -0.0960, 0.0326),
    "right_elbow": (-0.0214, -0.2537, -0.0133), "right_wrist": (-0.0056, -0.2553, 0.0078),
    "right_hand": (-0.0103, -0.0846, -0.0061),
}


def _mjcf_to_smpl(v):
    x_forward, y_left, z_up = v
    return (y_left, z_up, x_forward)


def default_joints(model_type="smpl"):
    """(J, 3) rest joint locations in the SMPL frame from the published zero-shape offsets;
    ``smplh``/``smplx`` have no default beyond the 22 body joints (ValueError)."""
    if model_type not in ("smpl", "body"):
        raise ValueError(f"no default skeleton for the {model_type} hands/face; pass your own "
                         f"{model_type.upper()} body-model file (model_path) or read the body joints only")
    names, parents = _tree(model_type)
    joints = np.zeros((len(names), 3))
    joints[0] = DEFAULT_PELVIS
    for j in range(1, len(names)):
        joints[j] = joints[parents[j]] + _mjcf_to_smpl(DEFAULT_BODY_OFFSETS[names[j]])
    return joints


# ---------------------------------------------------------------------------------------
# body-model files (the user's own)

MODEL_KEYS = ("v_template", "shapedirs", "J_regressor")


def load_model(model_file):
    """The arrays of an SMPL / SMPL-H / SMPL-X body-model .npz (no pickle: .pkl files must
    be converted once, see docs/io.md). Returns a dict of numpy arrays."""
    model_file = os.fspath(model_file)
    if not model_file.lower().endswith(".npz"):
        raise ValueError(f"{os.path.basename(model_file)}: body models are read from .npz files (no pickle); "
                         "convert a .pkl model once as described in docs/io.md")
    if not os.path.isfile(model_file):
        raise ValueError(f"body-model file not found: {model_file}")
    out = {}
    with np.load(model_file, allow_pickle=False) as z:
        missing = [k for k in MODEL_KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{os.path.basename(model_file)} is not an SMPL-family body model: "
                             f"missing {', '.join(missing)}")
        for k in ("v_template", "shapedirs", "J_regressor", "kintree_table", "weights", "f"):
            if k in z.files:
                try:
                    out[k] = np.asarray(z[k])
                except ValueError:   # an object array: would need pickle
                    raise ValueError(f"{os.path.basename(model_file)}: '{k}' is stored as Python objects; "
                                     "re-save the model with plain numpy arrays (docs/io.md)") from None
    return out


def model_type_of(model):
    """'smpl' (24 joints), 'smplh' (52) or 'smplx' (55) from a model's J_regressor."""
    count = model["J_regressor"].shape[0]
    by_count = {24: "smpl", 52: "smplh", 55: "smplx"}
    if count not in by_count:
        raise ValueError(f"body model with {count} joints; expected 24 (SMPL), 52 (SMPL-H) or 55 (SMPL-X)")
    return by_count[count]


def shaped_vertices(model, betas=None):
    """v_template + shapedirs . betas (V, 3): the rest mesh of this body shape."""
    v = np.asarray(model["v_template"], dtype=np.float64)
    if betas is None or not len(betas):
        return v.copy()
    dirs = np.asarray(model["shapedirs"], dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64).reshape(-1)[:dirs.shape[-1]]
    return v + dirs[..., :len(b)] @ b


def joints_from_model(model, betas=None):
    """Exact rest joint locations (J, 3) for ``betas``: J_regressor @ shaped vertices."""
    return np.asarray(model["J_regressor"], dtype=np.float64) @ shaped_vertices(model, betas)


def check_model_tree(model, model_type):
    """The model's kintree_table must be the tree this module knows."""
    if "kintree_table" not in model:
        return
    parents = np.array(model["kintree_table"][0], dtype=np.int64)
    parents[0] = -1
    parents[parents > 10_000] = -1    # stored as uint32 max
    if not np.array_equal(parents, joint_parents(model_type)):
        raise ValueError(f"the body model's kinematic tree differs from the standard {model_type.upper()} tree")


# ---------------------------------------------------------------------------------------
# spaces

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])   # +90 deg about X
MODEL_STAND_UP = quat.from_matrix(Y_UP_TO_Z_UP)


def clip_to_engine(up):
    """3x3 from the clip's coordinates to the engine's (Z up): identity for 'Z' (AMASS)."""
    if up in ("Z", "z"):
        return np.eye(3)
    if up in ("Y", "y"):
        return Y_UP_TO_Z_UP.copy()
    raise ValueError(f"up must be 'Z' (AMASS) or 'Y' (SMPL model frame), got {up!r}")


def skeleton(model_type, joints):
    """A standing Z-up Skeleton for rest joint locations ``joints`` (J, 3, SMPL frame)."""
    names, parents = _tree(model_type)
    joints = np.asarray(joints, dtype=np.float64).reshape(len(names), 3)
    parents = np.array(parents)
    offsets = joints - np.where(parents[:, None] >= 0, joints[np.maximum(parents, 0)], 0.0)
    offsets[0] = Y_UP_TO_Z_UP @ joints[0]
    rest = quat.identity((len(names),))
    rest[0] = MODEL_STAND_UP
    return Skeleton(names, parents, rest, offsets, up_axis=2)


# ---------------------------------------------------------------------------------------
# AMASS .npz

POSE_WIDTH = {72: "smpl", 156: "smplh", 165: "smplx", 66: "body"}
FPS_KEYS = ("mocap_framerate", "mocap_frame_rate", "fps", "frame_rate")


def read_amass_arrays(path):
    """The arrays of an AMASS-style clip: poses (F, 3J), trans (F, 3), betas, fps, gender,
    with the keys checked. No pickle."""
    path = os.fspath(path)
    base = os.path.basename(path)
    if not os.path.isfile(path):
        raise ValueError(f"motion file not found: {path}")
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{base} is not a readable .npz file ({exc})") from None
    with z:
        keys = set(z.files)
        missing = [k for k in ("poses", "trans") if k not in keys]
        fps_key = next((k for k in FPS_KEYS if k in keys), None)
        if fps_key is None:
            missing.append("mocap_framerate")
        if missing:
            raise ValueError(f"{base} lacks {', '.join(missing)}; an AMASS-style clip needs poses (F, 3J), "
                             f"trans (F, 3) and mocap_framerate (found: {', '.join(sorted(keys)) or 'nothing'})")
        try:
            poses = np.asarray(z["poses"], dtype=np.float64)
            trans = np.asarray(z["trans"], dtype=np.float64)
            fps = float(np.asarray(z[fps_key]).reshape(-1)[0])
            betas = np.asarray(z["betas"], dtype=np.float64).reshape(-1) if "betas" in keys else np.zeros(0)
            gender = str(np.asarray(z["gender"]).reshape(-1)[0]) if "gender" in keys else "neutral"
        except ValueError as exc:
            raise ValueError(f"{base}: {exc} (object arrays are not read: no pickle)") from None
    if gender.startswith("b'"):
        gender = gender[2:-1]
    if poses.ndim != 2 or poses.shape[1] not in POSE_WIDTH:
        raise ValueError(f"{base}: poses has shape {poses.shape}; expected (frames, 72 | 156 | 165 | 66)")
    if trans.shape != (poses.shape[0], 3):
        raise ValueError(f"{base}: trans has shape {trans.shape}; expected ({poses.shape[0]}, 3) like poses")
    if poses.shape[0] < 1:
        raise ValueError(f"{base} holds no frames")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"{base}: frame rate {fps} is not a positive number")
    for key, arr in (("poses", poses), ("trans", trans), ("betas", betas)):
        if not np.all(np.isfinite(arr)):
            frames = np.flatnonzero(~np.isfinite(arr).all(axis=-1)) if arr.ndim == 2 else []
            raise ValueError(f"{base}: {key} holds NaN or infinite values"
                             + (f" at frame(s) {frames[:10].tolist()}" if len(frames) else ""))
    return {"poses": poses, "trans": trans, "betas": betas, "fps": fps, "gender": gender.lower(),
            "model_type": POSE_WIDTH[poses.shape[1]]}


def motion_from_arrays(poses, trans, fps, joints, model_type, up="Z", name="smpl", meta=None):
    """Axis-angle ``poses`` (F, 3J) and ``trans`` (F, 3) -> Motion on ``skeleton(model_type,
    joints)``. Joints beyond the model type's count are dropped by the caller."""
    skel = skeleton(model_type, joints)
    j = skel.num_joints
    frames = poses.shape[0]
    rot = quat.from_scaled_axis(np.asarray(poses, dtype=np.float64)[:, :3 * j].reshape(frames, j, 3))
    c = clip_to_engine(up)
    # root: world = rest_root * rot_root must equal C * R_clip, with rest_root = MODEL_STAND_UP
    rot[:, 0] = quat.inv_mul(MODEL_STAND_UP, quat.mul(quat.from_matrix(c), rot[:, 0]))
    translations = np.broadcast_to(skel.rest_translations, (frames, j, 3)).copy()
    translations[:, 0] = (np.asarray(trans, dtype=np.float64) + np.asarray(joints)[0]) @ c.T
    return Motion(skel, quat.unroll(rot), translations, fps, name, dict(meta or {}))


def read_amass(path, model=None, up="Z", body_only=False):
    """An AMASS-style .npz as a Motion (Z-up engine space, metres).

    ``model``: the user's body model (``load_model``) for exact joint locations from the
    clip's betas; None: the documented default skeleton (SMPL's 24 joints; SMPL-H/-X
    clips keep only their 22 body joints then). ``body_only``: drop hands/face anyway.
    meta: model_type, betas, gender, up, joints_source, dropped_joints."""
    data = read_amass_arrays(path)
    model_type = data["model_type"]
    meta = {"betas": data["betas"].tolist(), "gender": data["gender"], "up": up, "source_model_type": model_type,
            "frame_start": 1}
    if model is not None:
        mt = model_type_of(model)
        check_model_tree(model, mt)
        if model_type != "body" and not body_only and mt != model_type:
            raise ValueError(f"the clip is {model_type.upper()} ({NUM_JOINTS[model_type]} joints) but the body "
                             f"model is {mt.upper()} ({NUM_JOINTS[mt]} joints); pass a matching model file")
        target = "body" if (body_only or model_type == "body") else mt
        joints = joints_from_model(model, data["betas"])[:NUM_JOINTS[target]]
        meta["joints_source"] = "model"
    else:
        target = "smpl" if model_type == "smpl" and not body_only else "body"
        joints = default_joints(target)
        meta["joints_source"] = "default"
        if target == "body" and model_type != "body" and not body_only:
            meta["dropped_joints"] = joint_names(model_type)[22:]
            warnings.warn(f"{os.path.basename(os.fspath(path))}: no body-model file given, so the "
                          f"{len(meta['dropped_joints'])} hand/face joints of this {model_type.upper()} clip are "
                          "dropped (only the body has a default skeleton); pass model_path to keep them", stacklevel=2)
    poses = data["poses"][:, :3 * NUM_JOINTS[target]]   # every type starts with the same 22 body joints
    model_type = target
    meta["model_type"] = model_type
    name = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return motion_from_arrays(poses, data["trans"], data["fps"], joints, model_type, up, name, meta)


def to_amass_arrays(motion, up="Z", betas=None, gender=None, model_type=None):
    """A Motion on an SMPL-family skeleton (joint names as here, any rest orientation whose
    rest POSTURE is the body model's) -> AMASS arrays: poses (F, 3J), trans (F, 3), betas,
    mocap_framerate, gender, surface_model_type."""
    names = motion.skeleton.names
    if model_type is None:
        present = set(names)   # any order (an armature lists its bones depth-first)
        model_type = next((t for t in ("smplx", "smplh", "smpl", "body") if present >= set(joint_names(t))), None)
    if model_type is None:
        raise ValueError("the motion's joints are not an SMPL-family skeleton (expected the SMPL joint names, "
                         f"e.g. {', '.join(BODY_NAMES[:4])} ...)")
    expected = joint_names(model_type)
    missing = [n for n in expected if n not in names]
    if missing:
        raise ValueError(f"the motion lacks SMPL joint(s) {', '.join(missing[:8])}")
    idx = [names.index(n) for n in expected]
    world_rot, world_pos = forward_kinematics(motion.skeleton, motion.rotations, motion.translations)
    rest_rot = _rest_world_rotations(motion.skeleton)
    c = clip_to_engine(up)
    # world rotation of joint j in the clip frame, relative to the body model's rest frame:
    # S_j = C^-1 * (G_j * W_j^-1) * STAND_UP   (W_j: the skeleton's rest world rotation)
    delta = quat.mul(world_rot[:, idx], quat.inv(rest_rot[idx]))
    s = quat.mul(quat.mul(quat.from_matrix(c.T), delta), MODEL_STAND_UP)
    parents = joint_parents(model_type)
    local = s.copy()
    child = parents >= 0
    local[:, child] = quat.inv_mul(s[:, parents[child]], s[:, child])
    poses = quat.to_scaled_axis(quat.normalize(local)).reshape(motion.num_frames, -1)
    rest_pos = motion.skeleton.rest_positions()
    j0 = Y_UP_TO_Z_UP.T @ rest_pos[idx[0]]     # the pelvis rest location in the model frame
    trans = world_pos[:, idx[0]] @ c - j0
    b = np.asarray(betas if betas is not None else motion.meta.get("betas", []), dtype=np.float64).reshape(-1)
    return {"poses": poses, "trans": trans, "betas": b, "mocap_framerate": np.array(motion.fps),
            "gender": np.array(gender or motion.meta.get("gender", "neutral")),
            "surface_model_type": np.array(model_type)}


def _rest_world_rotations(skel):
    rot = np.zeros((skel.num_joints, 4))
    for j, p in enumerate(skel.parents):
        rot[j] = skel.rest_rotations[j] if p < 0 else quat.mul(rot[p], skel.rest_rotations[j])
    return rot


def write_amass(path, motion, up="Z", betas=None, gender=None, model_type=None):
    """Write ``motion`` as an AMASS-style .npz (plain arrays, no pickle). Returns the arrays."""
    arrays = to_amass_arrays(motion, up, betas, gender, model_type)
    with atomic.replacing(path) as tmp:
        with open(tmp, "wb") as f:  # a file object: savez would append ".npz" to a bare name
            np.savez(f, **arrays)
    return arrays
