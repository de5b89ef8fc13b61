"""Limbs and ground contacts of any skeleton, from its joint tree and its clip's motion.

No joint names are read here: a human, a quadruped, a crab or a tentacle all have

- **limb tips**: the leaves of the joint tree (an end of every chain), each the end of a
  *limb*, the path from the tip up to (not including) its nearest branching joint;
- **ground contacts**: the joints that touch the ground in the clip, low and slow
  (docs/evaluation.md's contact rule) on a large enough share of its frames, one per
  limb (its lowest).

``metrics`` refines both with human names where a rig has them (hands, feet, head).
"""
import numpy as np

from .filters import uniform_filter1d

BRANCH_MIN_JOINTS = 3        # a child subtree this large makes its parent a branching joint
TIP_MIN_SHARE = 0.15         # of the span: shorter limbs (eyes, helper bones) are no edit effectors
CONTACT_MIN_SHARE = 0.2      # of the frames: a limb low and slow this often stands on the ground
CONTACT_MARGIN_M = 0.05      # m above the ground (docs/evaluation.md)
CONTACT_SPEED_M_S = 0.5      # m/s: slower is planted (docs/evaluation.md skate speed)
CONTACT_SPEED_WINDOW_S = 0.1
LIMB_REACH_M = 0.1           # m: a limb whose lowest joint comes this close to the ground may stand on it


def is_branching(skeleton, joint):
    """True when ``joint`` has more than one child subtree of BRANCH_MIN_JOINTS or more
    joints: a hip, a chest, a crab's body; twist, share and eye bones do not count."""
    big = [c for c in skeleton.children(joint) if len(skeleton.descendants(c)) + 1 >= BRANCH_MIN_JOINTS]
    return len(big) > 1


def limb(skeleton, tip):
    """The joints from ``tip`` up to (not including) its nearest branching ancestor or the
    root, tip first."""
    out = [int(tip)]
    j = int(skeleton.parents[tip])
    while j >= 0 and skeleton.parents[j] >= 0 and not is_branching(skeleton, j):
        out.append(j)
        j = int(skeleton.parents[j])
    return out


def limb_length(skeleton, tip):
    """Rest length of ``tip``'s limb, from its branching joint to the tip (skeleton units)."""
    rest = np.asarray(skeleton.rest_translations, dtype=np.float64)
    return float(sum(np.linalg.norm(rest[j]) for j in limb(skeleton, tip)))


def leaves(skeleton):
    """Joints without children, the root excepted."""
    return [j for j in range(skeleton.num_joints) if not skeleton.children(j) and skeleton.parents[j] >= 0]


def limb_tips(skeleton, span=None, min_share=TIP_MIN_SHARE):
    """The leaves whose limb is at least ``min_share`` of ``span`` long (default: the rest
    pose's span), longest limb first: legs, arms, claws, tails, necks. Their limbs are
    what an animator grabs; the short ones (eyes, a jaw) are joints like any other."""
    span = skeleton.span() if span is None else float(span)
    lengths = {j: limb_length(skeleton, j) for j in leaves(skeleton)}
    tips = [j for j, n in lengths.items() if n >= min_share * span]
    return sorted(tips, key=lambda j: (-lengths[j], j))


def ground_contacts(skeleton, positions_m, fps, candidates=None, min_share=CONTACT_MIN_SHARE):
    """The joints that stand on the ground in a clip: per limb (``candidates``' limbs,
    default every leaf's), its lowest joint (median height), kept when the limb reaches
    down to the ground (that joint's 5th-percentile height within ``LIMB_REACH_M`` of the
    clip's ground) and the joint is low (below its own ground + 5 cm in this frame and the
    next) and slow (horizontal speed under 0.5 m/s, averaged over 0.1 s) on at least
    ``min_share`` of the frames. The clip's ground is the 5th percentile of those lowest
    joints' heights; a joint's own ground is its 5th-percentile height (an elephant's front
    foot joint sits above its sole). ``positions_m`` (F, J, 3) in metres (span-scaled).
    Returns joint indices, lowest first; [] for a clip that never touches the ground (a
    swimmer, a flyer, a prop held in the air)."""
    pos = np.asarray(positions_m, dtype=np.float64)
    up = skeleton.up_axis
    heights = pos[..., up]
    if len(pos) < 2:
        return []
    median = np.median(heights, axis=0)
    tips = leaves(skeleton) if candidates is None else list(candidates)
    lowest = sorted({min(limb(skeleton, t), key=lambda j: (median[j], j)) for t in tips})
    if not lowest:
        return []
    own = np.percentile(heights[:, lowest], 5, axis=0)
    ground = float(np.min(own))
    share = contact_share(pos[:, lowest], up, own, fps)
    found = [j for j, s, g in zip(lowest, share, own) if s >= min_share and g <= ground + LIMB_REACH_M]
    return sorted(found, key=lambda j: (median[j], j))


def contact_share(positions_m, up, ground, fps):
    """Per joint (F, n, 3 positions in metres), the share of frames it is low (below
    ``ground``, a number or one per joint, + 5 cm) and slow."""
    h = positions_m[..., up]
    low = h < np.asarray(ground) + CONTACT_MARGIN_M
    low = low & np.concatenate([low[1:], low[-1:]], axis=0)
    vel = np.diff(positions_m, axis=0, prepend=positions_m[:1])
    vel[..., up] = 0.0
    size = max(1, int(round(CONTACT_SPEED_WINDOW_S * fps)))
    speed = np.linalg.norm(uniform_filter1d(vel, size=size, axis=0), axis=-1) * fps
    return (low & (speed < CONTACT_SPEED_M_S)).mean(axis=0)


def same_limb(skeleton, a, b):
    """True when joints ``a`` and ``b`` lie on one limb (their limbs share a joint, or one
    is the other's ancestor): a toe and its foot's share bone, not the left and right toe."""
    if a in skeleton.chain(b) or b in skeleton.chain(a):
        return True
    return bool(set(limb(skeleton, a)) & set(limb(skeleton, b)))
