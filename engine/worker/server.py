"""The engine worker: a long-lived process that builds generators for Blender.

Run as ``python -m engine.worker`` with the extension root on PYTHONPATH (the client in
``blender_motiondna/worker_client.py`` does this); it needs numpy only, so Blender's own
Python runs it. A build in this process keeps Blender's interface responsive and can be
cancelled or killed; Blender talks to it over stdin/stdout with length-prefixed JSON
frames (``engine/protocol.py``).

Requests (stdin): ``{"id": int, "cmd": str, "args": {...}}``; two are handled at once by
the reader instead of being queued: ``cancel`` (``args.id`` = the request to stop) and
``shutdown``. Stdin EOF (the parent exited or died) ends the process like ``shutdown``.

Events (stdout): ``ready`` once at start; per request ``progress``, then exactly one of
``result``, ``error`` (message + traceback) or ``cancelled``; and a ``heartbeat`` about
every second, carrying the busy request id, so the client can tell a hung worker from a
slow one.

Commands run one at a time on a work thread; the table ``COMMANDS`` maps a name to
``handler(args, progress, should_stop) -> dict``. ``progress(fraction, message="",
**fields)`` reports progress; ``should_stop()`` turns true once the request is cancelled.
"""
import importlib.metadata
import importlib.util
import os
import queue
import signal
import sys
import threading
import time
import traceback

import numpy as np

from ..generator import build
from ..io import fileformat
from . import protocol

HEARTBEAT_SECONDS = 1.0
PROGRESS_MIN_INTERVAL = 0.05  # a task may report often; the UI needs ~20/s
STOP_GRACE_SECONDS = 10.0     # how long a running task gets to notice cancel at exit
TEST_COMMANDS_ENV = "MOTIONDNA_WORKER_TEST_COMMANDS"
# Tests only: a build waits this many seconds (cancellable) at its first progress report
# past the start, as a long clip's build would, so that cancelling or killing it mid-build is not
# a race against a build that takes a tenth of a second.
TEST_BUILD_PAUSE_ENV = "MOTIONDNA_WORKER_TEST_BUILD_PAUSE_S"


class Cancelled(Exception):
    """Raised by a task that saw ``should_stop()`` turn true."""


def is_cancellation(exc):
    """True for any exception class named ``Cancelled`` (ours, ``engine.generator.build.Cancelled``,
    whichever copy of the package raised it)."""
    return any(cls.__name__ == "Cancelled" for cls in type(exc).__mro__)


# -- environment ---------------------------------------------------------------------------

def claim_stdio():
    """Take fds 0/1 for the protocol and point the originals elsewhere.

    Libraries print (warnings, C-level printf) to fd 1; if that were the protocol pipe
    a single stray byte would corrupt the frame stream. So the protocol gets private
    duplicates, fd 1 becomes stderr (the client's log) and fd 0 becomes /dev/null."""
    sys.stdout.flush()
    proto_out = os.fdopen(os.dup(1), "wb")
    proto_in = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull)
    return proto_in, proto_out


def torch_version():
    """torch's installed version without importing it (that takes seconds), or None."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:  # importable but not installed as a distribution
        return "unknown"


def describe_environment():
    """What the worker runs on: its Python and numpy (what a build needs), and torch's
    version when it happens to be installed (informational; nothing here uses it)."""
    return {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch_version()}


# -- commands ------------------------------------------------------------------------------

def cmd_ping(args, progress, should_stop):
    return {"pid": os.getpid(), **describe_environment(), "executable": sys.executable,
            "engine_dir": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}


def cmd_sleep(args, progress, should_stop):
    """Sleep ``seconds`` in small steps, reporting progress; stops early when cancelled."""
    seconds = float(args.get("seconds", 1.0))
    steps = max(1, int(args.get("steps", 20)))
    for step in range(steps):
        if should_stop():
            raise Cancelled()
        progress(step / steps, f"sleeping {step}/{steps}", step=step, total=steps)
        time.sleep(seconds / steps)
    progress(1.0, "done", step=steps, total=steps)
    return {"slept": seconds}


def cmd_build(args, progress, should_stop):
    motion = fileformat.load_motion(args["clip"])
    pause = float(os.environ.get(TEST_BUILD_PAUSE_ENV) or 0.0)
    if pause > 0:
        progress = _paused_after_first_report(progress, should_stop, pause)
    return build.build_generator(motion, args["out"], args.get("settings"),
                                 progress=progress, should_stop=should_stop)


def _paused_after_first_report(progress, should_stop, seconds):
    """``progress`` that, at its first report past the start, waits ``seconds`` or until
    cancelled (that report is sent: it comes after the throttle's interval)."""
    first = [True]

    def paused(fraction, message="", **fields):
        if not (first[0] and fraction > 0):
            progress(fraction, message, **fields)
            return
        first[0] = False
        time.sleep(PROGRESS_MIN_INTERVAL)
        progress(fraction, message, **fields)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not should_stop():
            time.sleep(0.02)
    return paused


def cmd_echo_print(args, progress, should_stop):
    """Test-only: print to stdout at the Python and the fd level, then echo ``args``."""
    print("stray print from a task", args)
    os.write(1, b"stray bytes written straight to fd 1\n")
    return {"echo": args}


COMMANDS = {
    "ping": cmd_ping,
    "sleep": cmd_sleep,
    "build": cmd_build,
}
if os.environ.get(TEST_COMMANDS_ENV) == "1":
    COMMANDS["echo_print"] = cmd_echo_print


def as_result(value):
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {"value": value}


# -- the worker ----------------------------------------------------------------------------

class Worker:
    def __init__(self, out_stream, commands=None):
        self.out = out_stream
        self.commands = COMMANDS if commands is None else commands
        self.send_lock = threading.Lock()
        self.flags_lock = threading.Lock()
        self.flags = {}                  # request id -> threading.Event (cancel flag)
        self.jobs = queue.Queue()
        self.busy = None
        self.stopping = threading.Event()
        self.work_thread = threading.Thread(target=self.work_loop, name="mdna-work", daemon=True)
        self.beat_thread = threading.Thread(target=self.heartbeat_loop, name="mdna-heartbeat", daemon=True)

    # output

    def send(self, obj):
        try:
            frame = protocol.encode_frame(obj)
        except (protocol.ProtocolError, ValueError) as e:  # e.g. a result over 64 MiB
            if obj.get("event") in ("error", "heartbeat") or "id" not in obj:
                raise
            frame = protocol.encode_frame({"id": obj["id"], "event": "error",
                                           "message": f"the engine could not send its answer: {e}",
                                           "traceback": traceback.format_exc()})
        try:
            with self.send_lock:
                self.out.write(frame)
                self.out.flush()
        except (BrokenPipeError, OSError):
            self.stopping.set()  # nobody is listening any more

    # threads

    def start(self):
        self.beat_thread.start()
        self.work_thread.start()

    def heartbeat_loop(self):
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            self.send({"event": "heartbeat", "busy": self.busy, "time": time.time()})

    def work_loop(self):
        self.send({"event": "ready", "pid": os.getpid(), **describe_environment()})
        while True:
            job = self.jobs.get()
            if job is None:
                return
            self.run_job(*job)

    def serve(self, in_stream):
        """Read requests until shutdown or EOF (runs on the main thread)."""
        while not self.stopping.is_set():
            try:
                request = protocol.read_frame(in_stream)
            except protocol.ProtocolError as e:
                print(f"motiondna worker: bad request stream, stopping: {e}", file=sys.stderr)
                return
            if request is None or request.get("cmd") == "shutdown":
                return
            self.accept(request)

    def stop(self, grace=STOP_GRACE_SECONDS):
        """Cancel everything, let the running task notice, return True when it finished."""
        with self.flags_lock:
            for flag in self.flags.values():
                flag.set()
        self.jobs.put(None)
        self.work_thread.join(grace)
        self.stopping.set()
        return not self.work_thread.is_alive()

    # requests

    def accept(self, request):
        rid, cmd, args = request.get("id"), request.get("cmd"), request.get("args") or {}
        if cmd == "cancel":
            with self.flags_lock:
                flag = self.flags.get(args.get("id"))
            if flag is not None:
                flag.set()
            return
        if not isinstance(rid, int) or not isinstance(cmd, str) or not isinstance(args, dict):
            self.send({"id": rid if isinstance(rid, int) else None, "event": "error",
                       "message": f"malformed request {request!r}: needs an int 'id', a str 'cmd' and a dict 'args'",
                       "traceback": ""})
            return
        with self.flags_lock:
            self.flags[rid] = threading.Event()
        self.jobs.put((rid, cmd, args))

    def progress_callback(self, rid):
        last = [float("-inf")]

        def progress(fraction, message="", **fields):
            now = time.monotonic()
            if fraction < 1.0 and now - last[0] < PROGRESS_MIN_INTERVAL:
                return
            last[0] = now
            self.send({**fields, "id": rid, "event": "progress", "fraction": float(fraction),
                       "message": str(message)})
        return progress

    def run_job(self, rid, cmd, args):
        with self.flags_lock:
            flag = self.flags[rid]
        try:
            if flag.is_set():
                self.send({"id": rid, "event": "cancelled"})
                return
            handler = self.commands.get(cmd)
            if handler is None:
                self.send({"id": rid, "event": "error", "traceback": "",
                           "message": f"unknown engine command '{cmd}' (known: {', '.join(sorted(self.commands))})"})
                return
            self.busy = rid
            try:
                result = handler(args, self.progress_callback(rid), flag.is_set)
            except BaseException as e:  # a task's failure (even SystemExit) must never end the worker
                if is_cancellation(e):
                    self.send({"id": rid, "event": "cancelled"})
                else:
                    self.send({"id": rid, "event": "error", "message": f"{type(e).__name__}: {e}",
                               "traceback": traceback.format_exc()})
                return
            self.send({"id": rid, "event": "result", "result": as_result(result)})
        finally:
            self.busy = None
            with self.flags_lock:
                self.flags.pop(rid, None)


def main():
    # Ctrl+C in Blender's terminal reaches the whole process group; the worker's lifetime is
    # the parent's business (stdin EOF or 'shutdown'), so it must not die of the signal.
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto_in, proto_out = claim_stdio()
    worker = Worker(proto_out)
    worker.start()
    worker.serve(proto_in)
    finished = worker.stop()
    sys.stderr.flush()
    if not finished:
        os._exit(0)  # a task ignored cancel; don't wait for it at interpreter shutdown
    return 0

