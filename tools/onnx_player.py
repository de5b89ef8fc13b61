"""Play a streaming session from a generator's ONNX export, with onnxruntime and numpy only.

    python tools/onnx_player.py walk.onnx SESSION.json OUT.npz

SESSION.json: {"frames": 300, "targets": [{"reveal": 10, "joint": 8, "frame": 50,
"position": [x, y, z]}, ...]} (joint index, skeleton units). OUT.npz: rotations (T, J, 4),
translations (T, J, 3), transitions (n, 4: frame, position, rate, half-life). The rules
are the numpy Stream's (docs/formats.md); where it would walk the motion graph, the
player takes the end jump of the model's metadata at the clip's end.
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def play(model, session):
    """(rotations, translations, transitions) of a session dict played on ``model`` (X.onnx, X.decide.onnx beside it)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1   # a step is ~160 small operators: threads cost more than they give
    step = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    decide = ort.InferenceSession(model[:-5] + ".decide.onnx", options, providers=["CPUExecutionProvider"])
    meta = json.loads(step.get_modelmeta().custom_metadata_map["motiondna"])
    real, lay, last = np.dtype(meta["dtype"]).type, meta["cursor"], meta["num_frames"] - 1
    cursor = np.array(meta["start_cursor"], real)[None]   # a batch of one character
    known, plan, due, until, next_decision, out = [], None, None, 0, 0, ([], [], [])
    for t in range(int(session["frames"])):
        revealed = [tg for tg in session.get("targets", []) if tg["reveal"] == t]
        if revealed:   # set_targets: the new targets replace what is past
            known, plan, next_decision = [tg for tg in known if tg["frame"] >= t] + revealed, None, t
        pending = [tg for tg in known if tg["frame"] >= t]
        u, rate = float(cursor[0, lay["position"]]), float(cursor[0, lay["rate"]])
        if pending and t >= next_decision:
            n = meta["max_targets"]
            if len(pending) > n:
                raise SystemExit(f"step {t}: {len(pending)} targets pending, the planner model takes {n}")
            slots = (pending + [pending[0]] * n)[:n]
            incumbent = [plan[0] - t - 1, *plan[1:3], plan[4]] if isinstance(plan, tuple) and plan[0] > t else [-1, 0, 0, 0]
            d = decide.run(None, {"cursor": cursor[0], "target_joint": np.array([tg["joint"] for tg in slots], np.int64),
                                  "target_position": np.array([tg["position"] for tg in slots], real),
                                  "target_ahead": np.array([tg["frame"] - t for tg in slots], real),
                                  "target_active": (np.arange(n) < len(pending)).astype(real),
                                  "incumbent": np.array(incumbent, real),
                                  "residual_weight": np.array([meta["residual_weight"]], real),
                                  "after_frames": np.array([meta["after_frames"]], real)})[0]
            # A plan holds past its last target for after_frames (the stream's fade-out).
            horizon = max(tg["frame"] for tg in pending) + 1 + meta["after_frames"]
            if d[0] > 0.5:     # take the plan: its transition, now or at its exit
                plan = due = (t + int(d[1]) + 1, float(d[2]), float(d[3]), float(d[4]), float(d[5]))
                until = horizon
            elif plan is None and d[7] > 0.5:   # playing on is the plan
                plan, due, until = "playing", None, horizon
            next_decision = t + meta["decide_every"]
        if t >= until:   # the plan is played out: back to the clip's speed on a whole frame
            whole = float(min(max(round(u), 0), last))
            if rate != 1.0 or abs(u - whole) > 1e-9:
                due = (t, whole, 1.0, meta["rate_reset_half_life"], 0.0)
            plan, until = None, t + meta["walk_frames"]
        if (due is None or due[0] != t) and u > last + 1e-6 and rate == 1.0:   # the clip's end
            due = (t, float(meta["end_jump"]["position"]), 1.0, meta["end_jump"]["half_life"], 0.0)
        start = np.array([[1.0, *due[1:4]] if due and due[0] == t else [0.0, 0.0, 1.0, 1.0]], real)
        if start[0, 0]:
            out[2].append([t, *due[1:4]])
        rotations, translations, cursor = step.run(None, {"cursor": cursor, "start": start})
        out[0].append(rotations[0])
        out[1].append(translations[0])
    return np.array(out[0]), np.array(out[1]), np.array(out[2]).reshape(-1, 4)


if __name__ == "__main__":
    rotations, translations, transitions = play(sys.argv[1], json.load(open(sys.argv[2])))
    np.savez(sys.argv[3], rotations=rotations, translations=translations, transitions=transitions)
    print(f"{len(rotations)} frames, {len(transitions)} transitions -> {sys.argv[3]}")
