"""Goals on a protocol's summary, judged per method: met, or by how much missed.

A ``Goal`` reads one summary figure (``key``) of the judged method, or of the column
``of(method)`` names (the generator's "closed before refinement" is read from its
unrefined column), and compares it with a bound: a number, or ``bound(summaries)`` of
every method's summary (0.8 x the time warp's local style distance).
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional, Union


@dataclass
class Goal:
    label: str
    key: str
    op: str                                   # "<=" or ">="
    bound: Union[float, Callable]
    of: Optional[Callable] = None             # method -> the column holding the figure (None: not judged)
    fmt: str = "{:.2f}"                       # how the figure is written in the report

    def judge(self, method, summaries):
        """{"value", "bound", "met", "miss"} for ``method``; None when it does not apply."""
        column = self.of(method) if self.of is not None else method
        if column is None or column not in summaries:
            return None
        value = summaries[column].get(self.key)
        bound = self.bound(summaries) if callable(self.bound) else self.bound
        if not _finite(value) or not _finite(bound):
            return {"value": value, "bound": bound, "met": None, "miss": None}
        met = value <= bound if self.op == "<=" else value >= bound
        miss = 0.0 if met else abs(value - bound)
        return {"value": float(value), "bound": float(bound), "met": bool(met), "miss": float(miss)}


def judge_all(goals, summaries):
    """{goal label: {method: judgement}} over every method of ``summaries``."""
    return {g.label: {m: g.judge(m, summaries) for m in summaries} for g in goals}


def share_of_clips(goals, per_clip_summaries):
    """{goal label: {method: share of clips meeting it}} from each clip's {method: summary}."""
    out = {}
    for g in goals:
        row = {}
        for m in sorted({m for s in per_clip_summaries for m in s}):
            verdicts = [g.judge(m, s) for s in per_clip_summaries if m in s]
            verdicts = [v["met"] for v in verdicts if v is not None and v["met"] is not None]
            if verdicts:
                row[m] = sum(verdicts) / len(verdicts)
        out[g.label] = row
    return out


def verdict_text(judgement, fmt):
    """'0.51: met' or '3.40: missed by 0.40' (or '-')."""
    if judgement is None or not _finite(judgement["value"]):
        return "-"
    value = fmt.format(judgement["value"])
    if judgement["met"] is None:
        return value
    return f"{value}: met" if judgement["met"] else f"{value}: missed by {fmt.format(judgement['miss'])}"


def tables(goal_list, summary, names, table):
    """Markdown lines: the goals judged on ``summary['goals']`` (value: met / missed by) and
    the share of clips meeting each (``summary['clip_shares']``); ``table`` writes a table."""
    rows = [(g.label, g.label, g.fmt) for g in goal_list]
    fmts = {g.label: g.fmt for g in goal_list}
    lines = table("goal (pooled over the clips)", names, [(label, key, "{}") for label, key, _ in rows],
                  lambda m, k: verdict_text(summary["goals"][k].get(m), fmts[k])) + [""]
    lines += table("share of clips meeting", names, [(label, key, "{:.0%}") for label, key, _ in rows],
                   lambda m, k: summary["clip_shares"][k].get(m)) + [""]
    return lines


def _finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
