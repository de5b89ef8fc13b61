"""docs/evaluation.md streaming protocols: a session steps one frame at a time and sees a
target only a stated time ahead.

- **catch**: a ball on a ballistic path ending within the body's reach (the hands' range
  over the clip, relative to the body root in its heading frame, +-30 cm, placed where
  the source's body is at contact); its contact point and time are revealed 0.5-1.0 s
  before contact;
- **punch**: a fist target at chest height, 0.3-0.6 span in front of the chest (and up to
  0.1 span to either side), revealed 0.4-0.8 s before it must be hit.

Per throw (50 seeded per clip): the nearest hand's distance to the target at contact, the
share within 3 cm, the local style distance (contact +- 1 s). The targeted hand is the
one the source has nearer to the target at contact.

Columns: ``replay`` (the source, no reaction), ``refined_source`` (the offline baseline:
the source through the refinement, given the target from the start), ``generator`` (the
generator offline, given the target from the start: planned, then refined), ``refined_stream``
(a causal baseline: the source played step by step, and at the reveal the steps still to
come re-planned as the source through the refinement, with a fade that fits the time
left) and ``generator_stream`` (``Generator.stream``), when the generator has one.
A session starts 1 s before the reveal (at the clip's first frame at the earliest) and
runs 1.5 s past contact; ``set_targets`` is called once, at the reveal step, never before.
"""
import time
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import numpy as np

from ..motion import metrics, quat
from ..motion.skeleton import Motion
from ..motion.targets import Target
from ..refine import refinement
from . import goals as goals_mod
from . import scoring

THROWS = 50
QUICK_THROWS = 10
WITHIN_CM = 3.0
REACH_MARGIN_M = 0.30
CATCH_LEAD_S = (0.5, 1.0)
PUNCH_LEAD_S = (0.4, 0.8)
PUNCH_REACH_SPANS = (0.3, 0.6)
PUNCH_SIDE_SPANS = 0.1
FLIGHT_S = (0.8, 1.4)
THROW_DISTANCE_M = (3.0, 6.0)
GRAVITY = 9.81
WARMUP_S = 1.0
AFTER_S = 1.5
RATE_STEPS = 600
RATE_BATCH = 8
KINDS = ("catch", "punch")

GOALS = [
    goals_mod.Goal("within 3 cm >= 90 % of throws", "within_share", ">=", 0.9, fmt="{:.0%}"),
    goals_mod.Goal("local style <= 1.3 x the offline baseline's", "local_style_distance_cm", "<=",
                   lambda s: 1.3 * s["refined_source"]["local_style_distance_cm"] if "refined_source" in s else float("nan")),
]


@dataclass
class Throw:
    """One streaming target: ``joint`` at ``point_m`` (metres, skeleton space) at source frame
    ``contact``, revealed at source frame ``reveal``; a catch's ball path from ``launch`` on."""
    kind: str
    index: int
    effector: str
    joint: int
    contact: int
    reveal: int
    point_m: np.ndarray
    launch: int = 0
    path_m: Optional[np.ndarray] = field(default=None, repr=False)   # (contact - launch + 1, 3)

    def to_dict(self):
        return {"kind": self.kind, "index": self.index, "effector": self.effector, "joint": self.joint,
                "contact": self.contact, "reveal": self.reveal, "point_m": self.point_m.tolist(), "launch": self.launch}


class RevealedTarget(NamedTuple):
    """A target as a session receives it: ``position`` in skeleton units, ``frame`` a step index or None (now and on)."""
    joint: int
    position: np.ndarray
    frame: Optional[int]


class Pose(NamedTuple):
    rotations: np.ndarray     # (J, 4)
    translations: np.ndarray  # (J, 3)


# ---------------------------------------------------------------------------------------
# throws

def hands(ref):
    return scoring.effector_joints(ref, "hand")


def reach_box(ref):
    """(lo, hi) (3,) of the hands' positions relative to the body root in its heading frame, +-30 cm."""
    rel = np.concatenate([scoring.root_relative(ref.track, j) for j in hands(ref).values()])
    return rel.min(axis=0) - REACH_MARGIN_M, rel.max(axis=0) + REACH_MARGIN_M


def body_to_world(ref, frame, local):
    """A point given relative to the source's body root (heading frame) at ``frame``, in world metres."""
    trk = ref.track
    return trk.positions[frame, trk.root] + quat.mul_vec(trk.heading[frame], np.asarray(local, dtype=np.float64))


def contact_range(ref, longest_lead_s):
    """The contact frames a throw may use: late enough for its reveal, early enough for the scores after it."""
    fps, L = ref.motion.fps, ref.motion.num_frames
    first = int(np.ceil(longest_lead_s * fps))
    last = max(first, L - 1 - int(round(0.5 * fps)))
    return first, min(last, L - 1)


def nearest_hand(ref, frame, point):
    """(key, joint) of the hand the source has nearest to ``point`` at ``frame``."""
    return min(hands(ref).items(), key=lambda kv: np.linalg.norm(ref.track.positions[frame, kv[1]] - point))


def ball_path(rng, point, contact, fps, up, ground):
    """A ballistic path (gravity along -up) from a launch 3-6 m away that ends at ``point``
    at frame ``contact``: (launch frame, positions (contact - launch + 1, 3))."""
    flight = rng.uniform(*FLIGHT_S)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    horizontal = [a for a in range(3) if a != up]
    start = np.array(point, dtype=np.float64)
    distance = rng.uniform(*THROW_DISTANCE_M)
    start[horizontal[0]] += distance * np.cos(angle)
    start[horizontal[1]] += distance * np.sin(angle)
    start[up] = max(ground + 1.0, point[up] + rng.uniform(-0.3, 0.5))
    g = np.zeros(3)
    g[up] = -GRAVITY
    frames = max(1, int(round(flight * fps)))
    flight = frames / fps
    velocity = (point - start - 0.5 * g * flight ** 2) / flight
    s = (np.arange(frames + 1) / fps)[:, None]
    path = start + velocity * s + 0.5 * g * s ** 2
    path[-1] = point
    return max(0, contact - frames), path[-(min(frames, contact) + 1):]


def make_catches(ref, count, seed):
    """``count`` seeded catches (docs/evaluation.md)."""
    rng = np.random.default_rng([int(seed), zlib.crc32(ref.motion.name.encode()), 1])
    fps, up = ref.motion.fps, ref.track.up_axis
    lo, hi = reach_box(ref)
    first, last = contact_range(ref, CATCH_LEAD_S[1])
    throws = []
    for i in range(int(count)):
        contact = int(rng.integers(first, last + 1))
        point = body_to_world(ref, contact, rng.uniform(lo, hi))
        point[up] = max(point[up], ref.ground)
        key, j = nearest_hand(ref, contact, point)
        reveal = max(0, contact - int(round(rng.uniform(*CATCH_LEAD_S) * fps)))
        launch, path = ball_path(rng, point, contact, fps, up, ref.ground)
        throws.append(Throw("catch", i, key, int(j), contact, reveal, point, launch, path))
    return throws


def chest_and_sides(ref):
    """The joint where the arms branch (the hands' lowest common ancestor) and the first
    joint below it towards the left and the right hand."""
    sk = ref.skeleton
    by_side = {("left" if "left" in k else "right"): j for k, j in hands(ref).items()}
    left, right = sk.chain(by_side["left"]), sk.chain(by_side["right"])
    chest = next(j for j in left if j in set(right))
    return chest, left[left.index(chest) - 1], right[right.index(chest) - 1]


def forward_at(ref, frame, left, right):
    """The body's facing direction at ``frame`` (unit, horizontal): (left - right) x up."""
    up = np.zeros(3)
    up[ref.track.up_axis] = 1.0
    side = ref.track.positions[frame, left] - ref.track.positions[frame, right]
    side[ref.track.up_axis] = 0.0
    f = np.cross(side, up)
    return f / max(np.linalg.norm(f), 1e-9), side / max(np.linalg.norm(side), 1e-9)


def make_punches(ref, count, seed):
    """``count`` seeded punch targets (docs/evaluation.md)."""
    rng = np.random.default_rng([int(seed), zlib.crc32(ref.motion.name.encode()), 2])
    fps = ref.motion.fps
    chest, left, right = chest_and_sides(ref)
    first, last = contact_range(ref, PUNCH_LEAD_S[1])
    throws = []
    for i in range(int(count)):
        contact = int(rng.integers(first, last + 1))
        forward, side = forward_at(ref, contact, left, right)
        reach = rng.uniform(*PUNCH_REACH_SPANS) * metrics.SPAN_METRES
        aside = rng.uniform(-PUNCH_SIDE_SPANS, PUNCH_SIDE_SPANS) * metrics.SPAN_METRES
        point = ref.track.positions[contact, chest] + forward * reach + side * aside
        key, j = nearest_hand(ref, contact, point)
        reveal = max(0, contact - int(round(rng.uniform(*PUNCH_LEAD_S) * fps)))
        throws.append(Throw("punch", i, key, int(j), contact, reveal, point))
    return throws


def make_throws(ref, kind, count, seed):
    return make_catches(ref, count, seed) if kind == "catch" else make_punches(ref, count, seed)


# ---------------------------------------------------------------------------------------
# sessions

class RefinedSourceStream:
    """The causal baseline's session, with the generator stream's interface: steps play
    the source from ``start``; ``set_targets`` re-plans the steps still to come as the
    source through the refinement, with a fade short enough to begin at the current step,
    and a target set replaces the previous set. Steps already taken never change."""

    def __init__(self, motion, start=0):
        self.source = motion
        self.start = int(start)
        self.frame = 0
        self._plan = motion
        self._rotations, self._translations = [], []

    def set_targets(self, targets):
        now = self.start + self.frame
        last = self.source.num_frames - 1
        offline = []
        for t in targets:
            frames = np.arange(now, last + 1) if t.frame is None else np.array([self.start + int(t.frame)])
            position = np.broadcast_to(np.asarray(t.position, dtype=np.float64), (len(frames), 3))
            offline.append(Target(t.joint, frames, position))
        if not offline:
            self._plan = self.source
            return
        lead_s = max(1, min(int(t.frames[0]) for t in offline) - now) / self.source.fps
        window = lead_s / refinement.BODY_WINDOW_SCALE  # the body's fade, the widest, starts now
        self._plan = refinement.refine_targets(self.source, offline, window_s=window)

    def step(self):
        f = min(self.start + self.frame, self.source.num_frames - 1)
        pose = Pose(self._plan.rotations[f].copy(), self._plan.translations[f].copy())
        self._rotations.append(pose.rotations)
        self._translations.append(pose.translations)
        self.frame += 1
        return pose

    def motion(self):
        return Motion(self.source.skeleton, np.array(self._rotations), np.array(self._translations),
                      self.source.fps, f"{self.source.name}_stream")


def session_span(ref, throw):
    """(first source frame, steps) of a session for ``throw``: from 1 s before the reveal to 1.5 s past contact."""
    fps, L = ref.motion.fps, ref.motion.num_frames
    start = max(0, throw.reveal - int(round(WARMUP_S * fps)))
    stop = min(L, throw.contact + int(round(AFTER_S * fps)) + 1)
    return start, stop - start


def play_session(session, ref, throw, start, steps, make_target):
    """Step ``session`` ``steps`` times, revealing the throw's target at its reveal step
    (and not before); returns the session's Motion."""
    reveal, contact = throw.reveal - start, throw.contact - start
    position = ref.to_units(throw.point_m)
    for _ in range(steps):
        if session.frame == reveal:
            session.set_targets([make_target(joint=throw.joint, position=position, frame=contact)])
        session.step()
    return session.motion()


def stream_target_type():
    """The generator's StreamTarget class, or None when engine.generator.stream has none."""
    try:
        from ..generator import stream  # imported where the generator runs, as benchmark.GeneratorMethod does
    except ImportError:
        return None
    return getattr(stream, "StreamTarget", None)


def columns(ref, built):
    """{column: play(throw) -> (Motion, first source frame)}."""
    def offline(method):
        return lambda t: (method.edit([Target(t.joint, [t.contact], ref.to_units(t.point_m)[None])]), 0)

    def streamed(open_session, make_target):
        def play(t):
            start, steps = session_span(ref, t)
            return play_session(open_session(start), ref, t, start, steps, make_target), start
        return play

    out = {name: offline(built[name]) for name in ("replay", "refined_source", "generator") if name in built}
    out["refined_stream"] = streamed(lambda start: RefinedSourceStream(ref.motion, start), RevealedTarget)
    gen = getattr(built.get("generator"), "generator", None)
    target_type = stream_target_type()
    if gen is not None and hasattr(gen, "stream") and target_type is not None:
        out["generator_stream"] = streamed(lambda start: gen.stream(seed=None, start=start), target_type)
    return out


# ---------------------------------------------------------------------------------------
# scores

def score_throw(ref, motion, throw, start):
    """docs/evaluation.md streaming scores of one session (or offline output) whose frame 0 is source frame ``start``."""
    trk = ref.track_of(motion)
    row = {"index": throw.index}
    if not np.all(np.isfinite(trk.positions)):
        return dict(row, finite=False)
    contact = throw.contact - start
    distance = min(scoring.distance_cm(trk, j, contact, throw.point_m) for j in hands(ref).values())
    root_offset = 100.0 * np.linalg.norm(trk.positions[0, trk.root] - ref.track.positions[start, trk.root])
    return dict(row, finite=True, distance_cm=distance, within=bool(distance <= WITHIN_CM),
                local_style_distance_cm=scoring.local_style_cm(ref, trk, contact),
                start_offset_cm=float(root_offset))


def summarise_rows(rows):
    ok = [r for r in rows if r.get("finite")]
    d = [r["distance_cm"] for r in ok]
    return {"throws": len(rows), "finite_share": scoring.mean([float(bool(r.get("finite"))) for r in rows]),
            "distance_cm_mean": scoring.mean(d), "distance_cm_p95": scoring.p95(d),
            "within_share": scoring.mean([float(r["within"]) for r in ok]) if ok else float("nan"),
            "local_style_distance_cm": scoring.mean([r["local_style_distance_cm"] for r in ok]),
            "start_offset_cm_max": max((r["start_offset_cm"] for r in ok), default=float("nan")),
            "seconds_per_throw": scoring.median([r.get("seconds") for r in rows])}


def stream_rate(gen, steps=RATE_STEPS, batch=RATE_BATCH):
    """Steps per second of the generator's stream: one character, and a batch (steps and characters)."""
    def rate(session):
        t0 = time.perf_counter()
        for _ in range(steps):
            session.step()
        return steps / (time.perf_counter() - t0)
    one = rate(gen.stream(seed=None))
    many = rate(gen.stream(seed=0, batch=batch))
    return {"steps": steps, "single_steps_per_s": one, "batch": batch, "batch_steps_per_s": many,
            "batch_characters_per_s": many * batch}


def run(ref, built, kind, seed, count=THROWS):
    """One streaming protocol on one clip: {"throws": [...], "methods": {column: {"per_throw", "summary"}}}."""
    throws = make_throws(ref, kind, count, seed)
    out = {"throws": [t.to_dict() for t in throws], "methods": {}}
    for name, play in columns(ref, built).items():
        rows = []
        for t in throws:
            t0 = time.perf_counter()
            motion, start = play(t)
            took = time.perf_counter() - t0
            rows.append(dict(score_throw(ref, motion, t, start), seconds=took))
        out["methods"][name] = {"per_throw": rows, "summary": summarise_rows(rows)}
    if "generator_stream" in out["methods"]:
        out["stream_rate"] = stream_rate(built["generator"].generator)
    return out


# ---------------------------------------------------------------------------------------
# across clips and the report

def summarise(clips, kind):
    """Pooled summaries over every clip's throws, the goals, the share of clips meeting each."""
    results = [c[kind] for c in clips if kind in c]
    if not results:
        return {}
    names = sorted({m for r in results for m in r["methods"]}, key=scoring.column_order)
    pooled = {m: summarise_rows([row for r in results if m in r["methods"] for row in r["methods"][m]["per_throw"]])
              for m in names}
    per_clip = [{m: r["methods"][m]["summary"] for m in r["methods"]} for r in results]
    rates = [r["stream_rate"] for r in results if "stream_rate" in r]
    return {"clips": len(results), "methods": pooled, "goals": goals_mod.judge_all(GOALS, pooled),
            "clip_shares": goals_mod.share_of_clips(GOALS, per_clip),
            "stream_rate": {k: scoring.mean([r[k] for r in rates]) for k in rates[0]} if rates else {}}


ROWS = [("throws", "throws", "{:d}"),
        ("nearest hand at contact, mean (cm)", "distance_cm_mean", "{:.2f}"),
        ("nearest hand at contact, p95 (cm)", "distance_cm_p95", "{:.2f}"),
        ("within 3 cm", "within_share", "{:.0%}"),
        ("local style, contact +- 1 s (cm)", "local_style_distance_cm", "{:.2f}"),
        ("session start: root off the source (cm, max)", "start_offset_cm_max", "{:.2f}"),
        ("seconds per throw (median)", "seconds_per_throw", "{:.3f}")]
RATE_ROWS = [("one character (steps/s)", "single_steps_per_s", "{:.0f}"),
             ("batch (steps/s)", "batch_steps_per_s", "{:.0f}"),
             ("batch (character steps/s)", "batch_characters_per_s", "{:.0f}")]


def to_markdown(summary, clips, kind, table):
    """The report's section for one streaming protocol; ``table(title, columns, rows, get)`` writes a table."""
    if not summary:
        return []
    names = list(summary["methods"])
    what = {"catch": "a ball's contact point and time revealed 0.5-1.0 s ahead",
            "punch": "a fist target 0.3-0.6 span in front of the chest, revealed 0.4-0.8 s ahead"}[kind]
    lines = [f"## Streaming {kind} across clips ({summary['clips']} clips)", "",
             f"Sessions step frame by frame, {what}. 'refined_source' is the offline baseline (the target known "
             "from the start), 'refined_stream' the source re-planned through the refinement at the reveal.", ""]
    lines += table("metric", names, ROWS, lambda m, k: summary["methods"][m].get(k)) + [""]
    lines += goals_mod.tables(GOALS, summary, names, table)
    if summary["stream_rate"]:
        lines += table(f"generator stream rate (mean over clips, batch {RATE_BATCH})", ["generator_stream"], RATE_ROWS,
                       lambda m, k: summary["stream_rate"].get(k)) + [""]
    got = {c["name"]: c[kind]["methods"] for c in clips if kind in c}
    for label, key, fmt in [("within 3 cm", "within_share", "{:.0%}"), ("local style (cm)", "local_style_distance_cm", "{:.2f}")]:
        rows = [(name, name, fmt) for name in got]
        lines += table(f"{kind} per clip: {label}", names, rows,
                       lambda m, k, key=key: got[k].get(m, {}).get("summary", {}).get(key)) + [""]
    return lines


# ---------------------------------------------------------------------------------------
# the picture

def picture_column(result):
    """The column a catch picture shows: the generator's stream when it ran, else the causal baseline."""
    return "generator_stream" if "generator_stream" in result["methods"] else "refined_stream"


def catch_picture(ref, built, result, path, seed, count=THROWS):
    """Write a PNG of the first throw of ``result`` (a catch run) that the pictured column
    caught within 3 cm (else its first throw): the session played again, four frames
    from the reveal to just after contact. Returns the path."""
    from . import preview  # matplotlib, only for the picture
    name = picture_column(result)
    rows = result["methods"][name]["per_throw"]
    index = next((r["index"] for r in rows if r.get("within")), 0)
    throw = make_catches(ref, count, seed)[index]
    motion, start = columns(ref, built)[name](throw)
    generated = ref.track_of(motion).positions
    source = ref.track.positions[start:start + len(generated)]
    contact = throw.contact - start
    fps, reveal = ref.motion.fps, throw.reveal - start
    after = min(len(generated) - 1, contact + int(round(0.3 * fps)))
    frames = [reveal, (reveal + contact) // 2, contact, after]
    labels = ["reveal", f"{(contact - frames[1]) / fps:.2f} s before contact", "contact", f"{(after - contact) / fps:.2f} s after"]
    ball = []
    for f in frames:
        k = f + start - throw.launch
        ball.append(throw.path_m[k] if 0 <= k < len(throw.path_m) else (generated[f, throw.joint] if k >= 0 else None))
    distance = min(scoring.distance_cm(ref.track_of(motion), j, contact, throw.point_m) for j in hands(ref).values())
    title = (f"{ref.motion.name}: {name}, catch {index} revealed {(contact - reveal) / fps:.2f} s "
             f"ahead; hand {distance:.1f} cm from the ball at contact")
    return preview.render_catch(path, ref.skeleton, source, generated, frames, throw.path_m, ball, throw.point_m,
                                throw.joint, ref.track.up_axis, title, labels)
