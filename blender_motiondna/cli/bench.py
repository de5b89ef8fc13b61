"""``motiondna bench``: the benchmark, run in the engine interpreter."""
import json
import os
import subprocess
import sys
import time

from ...engine.eval import benchmark
from .. import worker_client
from ..scene import prefs
from .common import UsageError, fmt, need_file

BENCH_METHODS = benchmark.ALL_METHODS


def add_parser(subparsers):
    n = subparsers.add_parser(
        "bench", help="run the benchmark (engine/eval/benchmark.py: docs/evaluation.md edits, long runs, speed)",
        description="The project's benchmark, in the engine interpreter (python -m engine.eval.benchmark, same "
                    "options). Clips: every BVH under ../shared/motions and ../nonhuman_clips plus --clips. Writes "
                    "OUT/benchmark.json and OUT/benchmark.md.")
    benchmark.add_arguments(n)
    n.add_argument("--python", help="interpreter for the benchmark (default: the engine's: this one)")
    n.add_argument("--json", action="store_true", help="print the summary as JSON")
    return n


def run(args):
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in methods if m not in BENCH_METHODS]
        if unknown or not methods:
            raise UsageError(f"--methods: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(BENCH_METHODS)}")
    if args.generator_settings:
        try:
            json.loads(args.generator_settings)
        except json.JSONDecodeError as e:
            raise UsageError(f"--generator-settings is not valid JSON ({e})") from None
    clips = [os.path.abspath(need_file(c, "clip")) for c in args.clips]
    out = os.path.abspath(args.out)
    python = worker_client.find_engine_python(args.python or prefs.configured_python())
    argv = [python, "-m", "engine.eval.benchmark", "--out", out, "--edits", str(args.edits), "--seed", str(args.seed)]
    if clips:
        argv += ["--clips", *clips]
    if args.quick:
        argv.append("--quick")
    if methods:
        argv += ["--methods", ",".join(methods)]
    if args.no_shared:
        argv.append("--no-shared")
    if args.no_nonhuman:
        argv.append("--no-nonhuman")
    if args.generator_settings:
        argv += ["--generator-settings", args.generator_settings]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=worker_client.ROOT, env=_engine_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    try:
        for line in proc.stdout:  # the benchmark's progress lines, as they come
            sys.stderr.write(line)
            tail = (tail + [line.rstrip()])[-8:]
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    if code != 0:
        raise BenchFailed("the benchmark failed: " + " | ".join(t for t in tail if t))
    report_path = os.path.join(out, "benchmark.json")
    if not os.path.isfile(report_path):  # no clips: the benchmark says so and writes nothing
        raise ValueError("the benchmark ran no clips (../shared/motions is absent and no --clips given)")
    with open(report_path) as f:
        report = json.load(f)
    info = {"out": out, "json": report_path, "markdown": os.path.join(out, "benchmark.md"),
            "wall_seconds": round(time.perf_counter() - started, 3), "notes": report.get("notes", []),
            "summary": report.get("summary", {})}
    return info, _bench_text(info)


class BenchFailed(RuntimeError):
    pass


def _engine_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (worker_client.ROOT, env.get("PYTHONPATH")) if p)
    return env


def _bench_text(info):
    lines = [f"benchmark: {info['json']} and {info['markdown']} ({info['wall_seconds']:.1f} s)"]
    for method, s in info["summary"].items():
        if isinstance(s, dict):
            err, skate = s.get("target_error_cm_mean"), s.get("foot_skate_delta")
            lines.append(f"  {method:10s} target error {fmt(err)} cm, foot skate delta {fmt(skate)}")
    return "\n".join(lines)
