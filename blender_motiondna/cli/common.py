"""What every command shares: exit codes, usage errors, the progress bar, argument types,
input checks, the result that carries a batch's exit code, and the scene reset."""
import argparse
import importlib
import json
import os
import sys
import time

import bpy

from ...engine.io import atomic
from .. import EXTENSION_PACKAGE

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_ENGINE, EXIT_CANCELLED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2)."""


class ProgressBar:
    """A one-line progress bar on stderr (only when it is a terminal, else a line per 10 %).
    ``quiet_s``: nothing is drawn before that many seconds, so a quick run prints no bar."""

    def __init__(self, label, stream=None, quiet_s=0.0):
        self.label, self.stream, self.last = label, stream or sys.stderr, -1
        self.quiet_until, self.drawn = time.perf_counter() + quiet_s, False

    def __call__(self, event):
        if time.perf_counter() < self.quiet_until:
            return
        self.drawn = True
        fraction = float(event.get("fraction", 0.0))
        eta = event.get("eta_s")
        tail = f" {eta:4.1f} s left" if eta is not None else ""
        if self.stream.isatty():
            filled = int(30 * fraction)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%{tail}")
            self.stream.flush()
        elif int(fraction * 10) > self.last:
            self.last = int(fraction * 10)
            self.stream.write(f"{self.label}: {fraction * 100:.0f}%{tail}\n")

    def close(self):
        if self.drawn and self.stream.isatty():
            self.stream.write("\n")


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


MAX_SEEDS = 1000  # one output file each: a typo like 0-99999 must not fill the disk


def seed_list(text):
    """Seeds from '7', '0-9' or '1,4,9' (whole numbers of at least 0)."""
    seeds = []
    for part in str(text).split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise argparse.ArgumentTypeError(f"seeds are whole numbers like 7, 0-9 or 1,4,9; got '{text}'") from None
        if a < 0 or b < a:
            raise argparse.ArgumentTypeError(f"seed range '{part.strip()}' must go up from 0 or more")
        seeds.extend(range(a, b + 1))
        if len(seeds) > MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds at once; got more in '{text}'")
    return list(dict.fromkeys(seeds))


def seed_path(out, seed, count):
    """The output for one seed: OUT with '{seed}' filled in, or with _s<seed> before its
    extension when there are several seeds."""
    if "{seed}" in out:
        return out.replace("{seed}", str(seed))
    if count == 1:
        return out
    root, ext = os.path.splitext(out)
    return f"{root}_s{seed}{ext}"


def batch_options(p, what):
    p.add_argument("--list", metavar="FILE", help="a file with one input path or glob a line (# comments)")
    p.add_argument("--jobs", "-j", type=positive_int, default=None,
                   help="parallel worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help=f"redo {what} whose output already exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def ensure_registered():
    """Under ``python -m`` nothing has registered the add-on's properties yet; inside Blender
    (``blender --command``) the enabled extension already has."""
    if not hasattr(bpy.types.Object, "mdna"):
        importlib.import_module(EXTENSION_PACKAGE).register()


def reset_scene():
    """An empty scene, so a batch command starts from the same state every time. Loads the
    factory startup file but keeps the preferences (and so the enabled extensions)."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, load_ui=False)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def need_file(path, what):
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such {what}")
    return path


class WithExit(dict):
    """A result dict that also carries the exit code (a batch may partly fail)."""

    def __init__(self, info, code):
        super().__init__(info)
        self.exit_code = code


def output_file(out, **inputs):
    """The absolute ``--out`` path, checked before any work: it can be a file (ValueError:
    empty, a folder, under a file) and is none of the command's ``inputs`` (UsageError,
    after resolving links), so a result never overwrites what it was made from."""
    path = atomic.check_output_path(out)
    for what, given in inputs.items():
        if given and os.path.exists(given) and os.path.exists(path) and os.path.samefile(given, path):
            raise UsageError(f"--out is the {what} ({given}): write the result to another file")
    return path


def fmt(x):
    return f"{x:.2f}" if isinstance(x, (int, float)) else "n/a"
