"""Text-to-motion backends: a prompt, a duration and a seed in, a motion out.

One interface (docs/library.md "Backends"): ``backend.generate(prompt, duration, seed)``
returns a *motion answer*, a dict in one of four formats:

- ``{"format": "file", "path": "clip.bvh"}`` — a BVH, gzipped BVH or AMASS-style .npz on disk;
- ``{"format": "bvh", "bvh": "HIERARCHY ..."}`` — a BVH file's text;
- ``{"format": "smpl", "fps": 30, "poses": [[72 or 66 or 156 floats] per frame],
  "trans": [[x, y, z] per frame]}`` — AMASS-style SMPL / SMPL-H axis-angles, Z up, metres;
- ``{"format": "joints", "fps": 20, "joints": [[[x, y, z] x 22] per frame]}`` — HumanML3D
  style: the 22 SMPL body joints in SMPL's order, Y up, metres (turned into rotations on
  the SMPL body skeleton by engine/library/joints_ik.py).

Backends: ``LibraryBackend`` (the default: a library search; the seed picks among the
best few), ``HttpBackend`` (POSTs ``{"prompt", "duration", "seed"}`` as JSON to a URL and
reads the answer, e.g. MotionLCM or MoMask behind a small server), ``CommandBackend`` (a
command template with ``{prompt} {duration} {seed} {out}``; the file written to ``{out}``
is the answer: .bvh, .npz or .npy joints) and ``PythonBackend`` (``module:function``
called as ``function(prompt=..., duration=..., seed=...)``, returning an answer).
``answer_to_motion`` turns any answer into a Motion.
"""
import dataclasses
import importlib
import json
import os
import shlex
import subprocess
import tempfile
import urllib.error
import urllib.request

import numpy as np

from ..io import smpl
from . import clips, joints_ik, search

FORMATS = ("file", "bvh", "smpl", "joints")
HTTP_TIMEOUT_S = 300.0
SEED_CHOICES = 5   # the library backend's seed picks among this many best results


class BackendError(RuntimeError):
    """A backend that cannot answer (the message says why: unreachable, bad answer, ...)."""


class LibraryBackend:
    """The default backend: the best library entry (with a file) for the prompt."""

    name = "library"

    def __init__(self, index, filters=None, embedder=None):
        self.searcher = search.Searcher(index, embedder)
        self.filters = dataclasses.replace(filters or search.Filters(), files_only=True)  # a trial has no motion

    def results(self, prompt, top=10):
        return self.searcher.search(prompt, top=top, filters=self.filters)

    def generate(self, prompt, duration=None, seed=0):
        results = self.results(prompt, top=SEED_CHOICES)
        if not results:
            raise BackendError(f"no library clip matches '{prompt}' with these filters")
        pick = results[int(seed) % len(results)]
        return {"format": "file", "path": pick.entry["path"], "entry": pick.entry, "score": pick.score}


class HttpBackend:
    """A text-to-motion model served over HTTP: POST {"prompt", "duration", "seed"} -> answer."""

    name = "http"

    def __init__(self, url, timeout=HTTP_TIMEOUT_S, headers=None):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the backend URL must start with http:// or https://, not {url!r}")
        self.url, self.timeout, self.headers = url, timeout, dict(headers or {})

    def generate(self, prompt, duration=None, seed=0):
        body = json.dumps({"prompt": prompt, "duration": duration, "seed": int(seed)}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise BackendError(f"{self.url} answered {exc.code}: {_error_text(exc.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BackendError(f"cannot reach {self.url} ({getattr(exc, 'reason', exc)})") from None
        try:
            answer = json.loads(payload)
        except ValueError:
            raise BackendError(f"{self.url} did not answer JSON: {payload[:200]!r}") from None
        return check_answer(answer, self.url)


def _error_text(payload):
    try:
        return str(json.loads(payload).get("error", payload[:200]))
    except (ValueError, AttributeError):
        return repr(payload[:200])


class CommandBackend:
    """A command template; ``{out}`` is a file the command writes (.bvh, .npz or .npy joints)."""

    name = "command"

    def __init__(self, template, suffix=".npy", timeout=HTTP_TIMEOUT_S):
        if "{out}" not in template:
            raise ValueError("the command template must contain {out} (the file the command writes)")
        self.template, self.suffix, self.timeout = template, suffix, timeout

    def generate(self, prompt, duration=None, seed=0):
        out_dir = tempfile.mkdtemp(prefix="mdna_t2m_")
        out = os.path.join(out_dir, "motion" + self.suffix)
        args = [a.format(prompt=prompt, duration="" if duration is None else duration, seed=int(seed), out=out)
                for a in shlex.split(self.template)]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"the backend command failed to run: {exc}") from None
        if done.returncode != 0 or not os.path.isfile(out):
            raise BackendError(f"the backend command exited {done.returncode} without writing {out}: "
                               f"{done.stderr.strip()[-500:]}")
        if out.endswith(".npy"):
            return {"format": "joints", "fps": joints_ik.HUMANML3D_FPS, "joints": np.load(out, allow_pickle=False)}
        return {"format": "file", "path": out}


class PythonBackend:
    """``module:function`` (importable here) called with prompt, duration and seed."""

    name = "python"

    def __init__(self, entry_point):
        module, _, function = entry_point.partition(":")
        if not module or not function:
            raise ValueError(f"a Python backend is 'module:function', not {entry_point!r}")
        try:
            self.function = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as exc:
            raise BackendError(f"cannot load the backend {entry_point}: {exc}") from None
        self.entry_point = entry_point

    def generate(self, prompt, duration=None, seed=0):
        return check_answer(self.function(prompt=prompt, duration=duration, seed=int(seed)), self.entry_point)


def check_answer(answer, source="the backend"):
    if not isinstance(answer, dict) or answer.get("format") not in FORMATS:
        fmt = answer.get("format") if isinstance(answer, dict) else type(answer).__name__
        raise BackendError(f"{source} answered format {fmt!r}; expected one of {', '.join(FORMATS)}")
    needs = {"file": ("path",), "bvh": ("bvh",), "smpl": ("poses", "trans", "fps"), "joints": ("joints", "fps")}
    missing = [k for k in needs[answer["format"]] if k not in answer]
    if missing:
        raise BackendError(f"{source}: a {answer['format']} answer needs {', '.join(missing)}")
    return answer


def answer_to_motion(answer, name="generated"):
    """The Motion of a backend answer (in its own space: BVH axes, SMPL Z up, joints Y up)."""
    answer = check_answer(answer)
    fmt = answer["format"]
    if fmt == "file":
        return clips.read_clip(answer["path"])
    if fmt == "bvh":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, name + ".bvh")
            with open(path, "w", encoding="utf-8") as f:
                f.write(answer["bvh"])
            return clips.read_clip(path)
    if fmt == "smpl":
        poses = np.asarray(answer["poses"], dtype=np.float64)
        trans = np.asarray(answer["trans"], dtype=np.float64)
        with tempfile.TemporaryDirectory() as tmp:  # through the AMASS reader and its checks
            path = os.path.join(tmp, name + ".npz")
            np.savez(path, poses=poses, trans=trans, mocap_framerate=float(answer["fps"]))
            return smpl.read_amass(path, body_only=True)
    return joints_ik.motion_from_joints(np.asarray(answer["joints"], dtype=np.float64), float(answer["fps"]), name)

