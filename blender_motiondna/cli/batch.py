"""Batch jobs for the command line: many clips or shots in one call.

- Inputs are paths, globs (``shots/**/*.blend``) and list files (one path a line, ``#``
  comments, relative to the list file).
- Resumable: an output that exists, loads (a ``.mdna`` that reads back, a file that starts
  like a .blend) and is not older than its input counts as finished and is skipped;
  ``force`` redoes it. Outputs appear atomically, so an interrupted run leaves no half
  file under a final name.
- Parallel: builds run in ``jobs`` engine workers (one process each, reused across
  clips) fed by this process, which imports the clips with Blender; bakes run as one child command per .blend (each needs its own Blender
  session), ``jobs`` at a time.
- At the end a summary table (text) or the items as JSON.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import bpy

from ...engine.io import fileformat, generator_file
from ...engine.io.fileformat import FormatError
from .. import EXTENSION_ROOT, worker_client
from ..io import formats
from ..scene import build
from .common import EXIT_CANCELLED, EXIT_ENGINE, EXIT_INPUT, ProgressBar, WithExit, reset_scene

ROOT = EXTENSION_ROOT
DONE, SKIPPED, FAILED, CANCELLED, PENDING = "done", "skipped", "failed", "cancelled", "pending"


@dataclass
class Item:
    """One input and where its result goes."""
    input: str
    output: str
    status: str = PENDING
    seconds: float = 0.0
    error: str = ""
    exit_code: int = 0
    info: dict = field(default_factory=dict)

    def to_dict(self):
        return {"input": self.input, "output": self.output, "status": self.status,
                "seconds": round(self.seconds, 3), "error": self.error, "exit_code": self.exit_code,
                "info": self.info}


def default_jobs():
    return max(1, os.cpu_count() or 1)


# -- inputs -------------------------------------------------------------------------------

def read_list_file(path):
    """Paths from a list file: one a line, blank lines and ``#`` comments ignored,
    relative paths taken from the list file's folder; globs allowed."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such list file") from None
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line if os.path.isabs(line) else os.path.join(base, line))
    return out


def expand_inputs(patterns, list_file=None, suffixes=()):
    """Absolute input paths from paths/globs and an optional list file, in the given order
    (a glob's matches sorted), duplicates dropped. ValueError for a pattern that matches
    nothing, a missing file or a file without one of ``suffixes``."""
    patterns = list(patterns or []) + (read_list_file(list_file) if list_file else [])
    if not patterns:
        raise ValueError("no inputs: give files, globs or --list FILE")
    seen, out = set(), []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise ValueError(f"{pattern}: matches no file")
        else:
            if not os.path.isfile(pattern):
                raise ValueError(f"{pattern}: no such file")
            matches = [pattern]
        for m in matches:
            m = os.path.abspath(m)
            if suffixes and not m.lower().endswith(tuple(suffixes)):
                raise ValueError(f"{m}: expected a {' or '.join(suffixes)} file")
            if m not in seen:
                seen.add(m)
                out.append(m)
    return out


def plan(inputs, out_dir, suffix):
    """Items writing ``out_dir/<input name><suffix>``; ValueError when two inputs would
    write the same output (same file name in different folders)."""
    items, owners = [], {}
    for path in inputs:
        stem = os.path.splitext(os.path.basename(path))[0]
        output = os.path.abspath(os.path.join(out_dir, stem + suffix))
        if output in owners:
            raise ValueError(f"{path} and {owners[output]} would both write {output}; "
                             "rename one or run them in separate batches")
        owners[output] = path
        items.append(Item(path, output))
    return items


# -- resuming -----------------------------------------------------------------------------

def valid_generator(path):
    try:
        generator_file.load(path)
        return True
    except (fileformat.FormatError, ValueError, OSError):
        return False


def finished(item, is_valid):
    """The output exists, is valid and is not older than its input."""
    out = item.output
    return (os.path.isfile(out) and os.path.getmtime(out) >= os.path.getmtime(item.input)
            and is_valid(out))


def mark_finished(items, is_valid, force):
    for item in items:
        if not force and finished(item, is_valid):
            item.status = SKIPPED
            item.info = {"reason": "output exists and is valid (use --force to redo)"}


# -- progress -----------------------------------------------------------------------------

class Overall:
    """Overall progress of a batch: finished items plus the running items' fractions."""

    def __init__(self, items, bar, log=sys.stderr):
        self.total = sum(1 for i in items if i.status == PENDING)
        self.done = 0
        self.running = {}
        self.bar = bar
        self.log = log
        self.started = time.perf_counter()

    def update(self, key, fraction):
        self.running[key] = min(max(float(fraction), 0.0), 1.0)
        self._draw()

    def finish(self, key, item):
        self.running.pop(key, None)
        self.done += 1
        note = f" ({item.error})" if item.error else ""
        if self.bar.stream.isatty():
            self.bar.stream.write("\n")
        self.log.write(f"[{self.done}/{self.total}] {item.status} {os.path.basename(item.output)} "
                       f"in {item.seconds:.1f} s{note}\n")
        self._draw()

    def _draw(self):
        if not self.total:
            return
        fraction = (self.done + sum(self.running.values())) / self.total
        elapsed = time.perf_counter() - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        self.bar({"fraction": fraction, "eta_s": eta})


# -- builds: engine workers fed by this process -------------------------------------------

class _Slot:
    """One engine worker and the item it is building."""

    def __init__(self, client):
        self.client = client
        self.item = None
        self.request = None
        self.started = 0.0
        self.workdir = None


def run_builds(items, jobs, python=None, settings=None, overall=None):
    """Build a generator for every pending item (BVH in, .mdna out) in ``jobs`` workers.
    Per-item failures are recorded on the item; KeyboardInterrupt cancels what runs and
    marks the rest cancelled, then re-raises."""
    pending = [i for i in items if i.status == PENDING]
    if not pending:
        return
    engine_python = worker_client.find_engine_python(python)  # EngineUnavailable: the whole batch
    jobs = max(1, min(int(jobs), len(pending)))
    settings = dict(settings or {})
    slots = [_Slot(worker_client.WorkerClient(python=engine_python)) for _ in range(jobs)]
    queue = list(pending)
    try:
        while queue or any(s.item for s in slots):
            for slot in slots:
                if slot.item is None and queue:
                    _start_build(slot, queue.pop(0), settings, overall)
            for slot in slots:
                if slot.item is not None:
                    slot.client.pump()
                    if slot.request.finished:
                        _finish_build(slot, overall)
            time.sleep(0.05)
    except KeyboardInterrupt:
        for slot in slots:
            if slot.item is not None:
                slot.item.status, slot.item.error, slot.item.exit_code = CANCELLED, "cancelled", EXIT_CANCELLED
        for item in queue:
            item.status, item.error, item.exit_code = CANCELLED, "cancelled", EXIT_CANCELLED
        raise
    finally:
        for slot in slots:
            slot.client.shutdown()
            if slot.workdir:
                _cleanup(slot)


def _start_build(slot, item, settings, overall):
    """Import the clip with Blender, hand it to the slot's worker (or fail the item)."""
    slot.started = time.perf_counter()
    try:
        reset_scene()
        armature = formats.import_motion_file(item.input)
        motion, _ = build.read_clip(armature)
        slot.workdir = tempfile.mkdtemp(prefix="mdna_batch_")
        clip = os.path.join(slot.workdir, "clip.npz")
        fileformat.save_motion(clip, motion)
    except (ValueError, OSError) as e:
        _fail(item, str(e), EXIT_INPUT, slot.started)
        if overall:
            overall.finish(item.input, item)
        return
    os.makedirs(os.path.dirname(item.output), exist_ok=True)
    key = item.input

    def on_event(event):
        if overall and event.get("event") == "progress":
            overall.update(key, event.get("fraction", 0.0))

    slot.item = item
    try:  # the worker writes the .mdna itself, atomically (fileformat.write)
        slot.request = slot.client.submit("build", {"clip": clip, "out": item.output, "settings": settings},
                                          on_event=on_event)
    except worker_client.EngineUnavailable as e:
        slot.request = None
        _fail(item, str(e), EXIT_ENGINE, slot.started)
        _release(slot, overall)


def _finish_build(slot, overall):
    item, request = slot.item, slot.request
    if request.state == worker_client.DONE:
        item.status, item.seconds = DONE, time.perf_counter() - slot.started
        result = dict(request.result or {})
        item.info = {k: result[k] for k in ("build_seconds", "size_bytes", "smooth_jumps") if k in result}
    elif request.state == worker_client.CANCELLED:
        _fail(item, "cancelled", EXIT_CANCELLED, slot.started, CANCELLED)
    else:
        _fail(item, f"engine failed: {request.error}", EXIT_ENGINE, slot.started)
    _release(slot, overall)


def _release(slot, overall):
    item = slot.item
    _cleanup(slot)
    slot.item = slot.request = None
    if overall:
        overall.finish(item.input, item)


def _cleanup(slot):
    if slot.workdir:
        shutil.rmtree(slot.workdir, ignore_errors=True)
    slot.workdir = None


def _fail(item, message, code, started, status=FAILED):
    item.status, item.error, item.exit_code = status, message.strip().splitlines()[0] if message else status, code
    item.seconds = time.perf_counter() - started


# -- bakes: one child command per .blend ---------------------------------------------------

def child_command():
    """The command that runs this CLI in a fresh process: the bpy module's Python, or the
    Blender binary with ``--command`` when running inside Blender."""
    if bpy.app.binary_path:  # a real Blender; the enabled extension registers the command
        return [bpy.app.binary_path, "--command", "motiondna"]
    return [sys.executable, "-m", "blender_motiondna"]


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def run_children(items, jobs, argv_for, overall=None):
    """Run ``child_command() + argv_for(item)`` for every pending item, ``jobs`` at a time.
    The child prints its result as JSON (``--json``); its exit code and last error line
    are recorded on the item."""
    pending = [i for i in items if i.status == PENDING]
    queue, running = list(pending), {}
    jobs = max(1, min(int(jobs), len(pending) or 1))
    try:
        while queue or running:
            while queue and len(running) < jobs:
                item = queue.pop(0)
                out = tempfile.TemporaryFile()
                err = tempfile.TemporaryFile()
                proc = subprocess.Popen(child_command() + argv_for(item), stdout=out, stderr=err,
                                        stdin=subprocess.DEVNULL, env=_child_env(), cwd=os.getcwd())
                running[proc] = (item, out, err, time.perf_counter())
            for proc in [p for p in running if p.poll() is not None]:
                item, out, err, started = running.pop(proc)
                _collect_child(item, proc.returncode, out, err, started)
                if overall:
                    overall.finish(item.input, item)
            time.sleep(0.05)
    except KeyboardInterrupt:
        for proc, (item, *_files) in running.items():
            proc.terminate()
            item.status, item.error, item.exit_code = CANCELLED, "cancelled", EXIT_CANCELLED
        for proc in running:
            proc.wait()
        for item in queue:
            item.status, item.error, item.exit_code = CANCELLED, "cancelled", EXIT_CANCELLED
        raise


def _collect_child(item, code, out, err, started):
    """Record a child's outcome. The child is this CLI run on one input with ``--json``, so
    its stdout is a one-item batch result whose item says what happened."""
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode("utf-8", "replace")
    stderr = err.read().decode("utf-8", "replace")
    out.close()
    err.close()
    item.seconds = time.perf_counter() - started
    item.exit_code = code
    try:
        child = json.loads(stdout)["items"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        child = None
    if code == 0:
        item.status, item.info = DONE, (child or {}).get("info", {})
        return
    item.status = CANCELLED if code == EXIT_CANCELLED else FAILED
    if child and child.get("error"):
        item.error = child["error"]
        return
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("motiondna:")]
    message = errors[-1] if errors else (lines[-1] if lines else f"the child process ended with exit code {code}")
    item.error = message.replace("motiondna: error: ", "").replace("motiondna: ", "")


def run_in_process(items, work, overall=None):
    """Run ``work(item) -> info`` for each pending item here, one after the other."""
    for item in items:
        if item.status != PENDING:
            continue
        started = time.perf_counter()
        try:
            item.info = work(item)
            item.status, item.seconds = DONE, time.perf_counter() - started
        except (ValueError, FormatError, OSError) as e:
            _fail(item, str(e), EXIT_INPUT, started)
        if overall:
            overall.finish(item.input, item)


# -- the end ------------------------------------------------------------------------------

def exit_code(items):
    """0 when every item is done or skipped, else the most serious item code
    (130 cancelled > 3 engine > 1 input)."""
    codes = {i.exit_code for i in items if i.status in (FAILED, CANCELLED)}
    for code in (130, 3, 1):
        if code in codes:
            return code
    return max(codes) if codes else 0


def summary(items, wall_seconds, jobs):
    counts = {s: sum(1 for i in items if i.status == s) for s in (DONE, SKIPPED, FAILED, CANCELLED)}
    return dict(counts, total=len(items), jobs=jobs, wall_seconds=round(wall_seconds, 3))


def table(items, wall_seconds, jobs, describe=lambda item: ""):
    """A plain-text summary table: status, input, output, seconds, notes."""
    rows = [("status", "input", "output", "seconds", "notes")]
    for i in items:
        note = i.error or describe(i) or i.info.get("reason", "")
        rows.append((i.status, _short(i.input), _short(i.output), f"{i.seconds:.1f}", note))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = ["  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  -----")
    s = summary(items, wall_seconds, jobs)
    lines.append(f"{s['done']} done, {s['skipped']} skipped, {s['failed']} failed"
                 + (f", {s['cancelled']} cancelled" if s["cancelled"] else "")
                 + f" of {s['total']} in {wall_seconds:.1f} s ({jobs} job{'s' if jobs != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines)


def _short(path):
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return rel if not rel.startswith("..") else path


def run_batch(items, jobs, label, run, describe):
    """Run a batch, then the summary: (info, table) for main; the exit code rides in info."""
    jobs = max(1, min(jobs, sum(1 for i in items if i.status == PENDING) or 1))
    bar = ProgressBar(label)
    overall = Overall(items, bar)
    started = time.perf_counter()
    cancelled = False
    try:
        run(overall, jobs)
    except KeyboardInterrupt:
        cancelled = True
    finally:
        bar.close()
    wall = time.perf_counter() - started
    info = {"items": [i.to_dict() for i in items], "summary": summary(items, wall, jobs)}
    code = EXIT_CANCELLED if cancelled else exit_code(items)
    return WithExit(info, code), table(items, wall, jobs, describe)
