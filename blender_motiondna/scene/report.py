"""The quality report: the evaluation protocol (docs/evaluation.md)'s edit metrics of a generated result against its
source clip (``engine.metrics.Reference(source).edit_metrics(result, targets)``), and MBench's
motion quality of both, side by side (``engine.eval.mbench.compare(result, source)``).

Both motions are read back from their actions over the generator's frames, so the report
judges exactly what is baked, not what the runtime meant to bake. Stored on the armature
as JSON (``armature.mdna.report``) for the panel; ``lines()`` phrases it for people."""
import json
import math
import time

import numpy as np

from ...engine.eval import mbench
from ...engine.motion.metrics import Reference
from ...engine.motion.skeleton import Motion, forward_kinematics, local_from_world
from ..io import armature_io
from . import store
from . import targets as target_io


def _on_skeleton(motion, skeleton):
    """``motion`` re-expressed on ``skeleton`` (a subset of its joints, by name): the
    generator may drive fewer bones than the armature has (an imported generator)."""
    if motion.skeleton.names == skeleton.names:
        return motion
    missing = [n for n in skeleton.names if n not in motion.skeleton.names]
    if missing:
        raise ValueError(f"the armature has no bone(s) {', '.join(missing[:5])} that the generator drives")
    idx = [motion.skeleton.index(n) for n in skeleton.names]
    rot, pos = forward_kinematics(motion.skeleton, motion.rotations, motion.translations)
    local_rot, local_trans = local_from_world(skeleton, rot[:, idx], pos[:, idx])
    return Motion(skeleton, local_rot, local_trans, motion.fps, motion.name, dict(motion.meta))


def _read(armature, action, first, count, skeleton):
    motion = armature_io.read_motion(armature, action=action, frame_range=(first, first + count - 1))
    return _on_skeleton(motion, skeleton)


def quality_report(armature):
    """docs/evaluation.md edit metrics of the armature's result action against its source action,
    under its current targets. Returns the report dict (also stored on the armature)."""
    settings = armature.mdna
    generator = store.get_generator(armature)
    result = settings.result_action or (armature.animation_data.action if armature.animation_data else None)
    if result is None or not result.get(armature_io.GENERATED_KEY):
        raise ValueError("no generated result to judge: Generate first")
    if settings.source_action is None:
        raise ValueError(f"'{armature.name}' has no source action to compare with (an imported generator): "
                         "set the Source Action in the MotionDNA panel")
    started = time.perf_counter()
    first, n = settings.clip_frame_start, generator.num_frames
    source = _read(armature, settings.source_action, first, n, generator.skeleton)
    output = _read(armature, result, first, n, generator.skeleton)
    targets, skipped = target_io.collect_targets(armature, generator.skeleton, first, n)
    ref = Reference(source)
    metrics = ref.edit_metrics(output, targets)
    names = generator.skeleton.names
    report = {"source": settings.source_action.name, "result": result.name, "frames": n,
              "first_frame": first, "targets": len(targets), "skipped_targets": len(skipped),
              "effectors": [names[j] for j in ref.effectors.values()], "contacts": [names[j] for j in ref.feet],
              "seconds": round(time.perf_counter() - started, 3)}
    report.update(_json_safe(metrics))
    report["mbench"] = mbench_pairs(output, source)
    settings.report = json.dumps(report)
    return report


def _json_safe(metrics):
    out = {}
    for key, value in metrics.items():
        if isinstance(value, (list, tuple, np.ndarray)):
            value = [float(v) for v in value]
        elif isinstance(value, (np.floating, float)):
            value = float(value)
        elif isinstance(value, (np.bool_, bool)):
            value = bool(value)
        out[key] = value
    return out


def mbench_pairs(output, source):
    """{measure: [result value, source value]} of MBench's motion quality, both on the
    source's feet and ground (``engine.eval.mbench``), in its units (m, per 30 fps frame)."""
    return {name: [float(ours), float(theirs)] for name, (ours, theirs) in mbench.compare(output, source).items()}


def stored_report(armature):
    try:
        return json.loads(armature.mdna.report or "{}")
    except ValueError:
        return {}


def _num(value, fmt):
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def lines(report):
    """The report as short lines for the panel and the info log (docs/evaluation.md's wording)."""
    if not report:
        return []
    if not report.get("finite", True):
        return [f"'{report.get('result')}' holds NaN or infinite positions: regenerate"]
    out = [f"'{report['result']}' vs '{report['source']}', {report['frames']} frames"]
    errors = report.get("target_errors_cm") or []
    if errors:
        out.append(f"Target error: max {max(errors):.1f} cm, mean {np.mean(errors):.1f} cm "
                   f"({report['targets']} target(s))")
    else:
        out.append("No targets: reconstruction of the source")
    out.append(f"Reconstruction: {_num(report.get('reconstruction_cm'), '.1f')} cm mean joint error")
    if "effectors" in report:  # what the rig offers: measured on any rig, named or not
        out.append("Effectors: " + (", ".join(report["effectors"]) or "none"))
        out.append("Contacts (feet): " + (", ".join(report["contacts"]) or "none: the clip never touches the ground"))
    skate = report.get("foot_skate_delta")
    out.append(f"Foot skate vs source: {_num(None if skate is None else 100 * skate, '+.1f')} % of frames (<= 0 is good)")
    out.append(f"Jitter ratio: {_num(report.get('jitter_ratio'), '.2f')} (about 1, <= 1.2 is good)")
    out.append(f"Style distance: {_num(report.get('style_distance_cm'), '.1f')} cm (lower is closer to the source)")
    out.extend(mbench_lines(report.get("mbench")))
    return out


# measure, label, factor from engine.eval.mbench.UNITS to the shown unit, shown unit
_MBENCH_SHOWN = (("jitter_degree", "Jitter degree", 1000.0, "mm/frame²"),
                 ("ground_penetration", "Ground penetration", 1000.0, "mm"),
                 ("foot_sliding", "Foot sliding", 1000.0, "mm/frame"),
                 ("foot_floating", "Foot floating", 100.0, "% of frames"),
                 ("dynamic_degree", "Dynamic degree", 1000.0, "mm/frame"))


def mbench_lines(pairs):
    """MBench's five measures, each beside the source's own value (none for a report stored
    before the report had them)."""
    if not pairs:
        return []
    out = ["MBench motion quality (30 fps frames), result vs source:"]
    for name, label, factor, unit in _MBENCH_SHOWN:
        ours, theirs = (None if v is None else factor * v for v in pairs.get(name, (None, None)))
        out.append(f"{label}: {_num(ours, '.1f')} {unit} (source {_num(theirs, '.1f')})")
    return out
