"""Blender's side of the engine worker: start it, send requests, collect events.

Builds run in a separate process (the "engine interpreter", by default this very Python:
in Blender, Blender's own, which has numpy) as ``python -m engine.worker``, so Blender's
interface stays responsive and a build can be cancelled or killed; this module talks to it
through pipes with the frames of ``engine/worker/protocol.py``, in the spirit of Blender's
own extension manager (``bl_pkg/bl_extension_utils.py``: a child interpreter, framed
messages, polling).

Two ways to use a client:
- Interactive (timers/modal operators): ``submit`` then call ``pump()`` from a timer;
  ``pump`` never blocks and updates each ``Request`` (state, progress, result).
- Synchronous (``--background``, the bpy module, the CLI, tests): ``wait(request)``.

Paths in request arguments must be absolute: the worker runs in a private temporary
working directory.

A dead worker (crash, kill) or a hung one (no heartbeat for ``timeout`` seconds) fails
its requests with ``WorkerDied``; the next ``submit`` starts a fresh worker. The worker
exits by itself on stdin EOF, so it cannot outlive Blender, and an atexit hook shuts
every client down in an orderly way.

This module does not import bpy.
"""
import atexit
import itertools
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref

from ..engine.worker import protocol
from . import EXTENSION_ROOT

ROOT = EXTENSION_ROOT
WORKER_MODULE = "engine.worker"
DEFAULT_TIMEOUT = 30.0
# Until the worker says 'ready' it is starting Python and importing numpy and the engine,
# which can take a while from a cold disk on a busy machine.
STARTUP_TIMEOUT = 60.0
ENGINE_CHECK_TIMEOUT = 60.0  # a cold first ``import numpy`` can be slow on a busy disk

PENDING, RUNNING, DONE, ERROR, CANCELLED = "pending", "running", "done", "error", "cancelled"
FINISHED = (DONE, ERROR, CANCELLED)


class EngineUnavailable(RuntimeError):
    """No Python interpreter that can run the engine (one with numpy) is available."""


class WorkerDied(RuntimeError):
    """The worker process exited or stopped responding while requests were open."""


class WorkerError(RuntimeError):
    """A request failed inside the worker; ``remote_traceback`` holds the worker's traceback."""

    def __init__(self, message, remote_traceback=""):
        super().__init__(message)
        self.message = message
        self.remote_traceback = remote_traceback

    def __str__(self):
        if self.remote_traceback:
            return f"{self.message}\n\nEngine traceback:\n{self.remote_traceback}"
        return self.message


class Cancelled(RuntimeError):
    """The request was cancelled before it finished."""


# -- the engine interpreter ---------------------------------------------------------------

_engine_check_cache = set()


def can_run_engine(python):
    """Whether ``python`` can run the engine: it starts and imports numpy (a subprocess;
    a yes is cached)."""
    python = os.path.abspath(python)
    if python in _engine_check_cache:
        return True
    try:
        done = subprocess.run([python, "-c", "import numpy"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=ENGINE_CHECK_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode != 0:
        return False  # not cached: the user may install numpy there in this session
    _engine_check_cache.add(python)
    return True


def _is_executable(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


ENGINE_PYTHON_VARIABLE = "MOTIONDNA_ENGINE_PYTHON"

HOW_TO_SET = ("Name a Python that has numpy: --python PATH on the command line, the environment "
              f"variable {ENGINE_PYTHON_VARIABLE}, or Engine Python in the add-on preferences "
              "(empty: Blender's own Python)")


def find_engine_python(preferred=None):
    """The interpreter to run the engine with: ``preferred`` (``--python``, the add-on
    preference) when given, else ``$MOTIONDNA_ENGINE_PYTHON`` (render farms, CI) when set,
    else this process's own Python (in Blender, Blender's bundled one). The first one
    named must work: a named interpreter that is missing or cannot import numpy raises
    EngineUnavailable rather than being replaced by another."""
    for python, label in ((preferred, "the engine interpreter"),
                          (os.environ.get(ENGINE_PYTHON_VARIABLE), f"${ENGINE_PYTHON_VARIABLE}")):
        if python:
            python = os.path.abspath(os.path.expanduser(python))
            if not _is_executable(python):
                raise EngineUnavailable(f"{label} '{python}' is not an executable file. {HOW_TO_SET}.")
            if not can_run_engine(python):
                raise EngineUnavailable(f"{label} '{python}' cannot import numpy. {HOW_TO_SET}.")
            return python
    own = sys.executable
    if _is_executable(own) and can_run_engine(own):
        return own
    raise EngineUnavailable(f"MotionDNA runs its engine in a Python with numpy, and this one ('{own}') "
                            f"cannot be started as one. {HOW_TO_SET}.")


# -- requests -----------------------------------------------------------------------------

class Request:
    """One command sent to the worker and everything heard about it so far."""

    def __init__(self, rid, cmd, args, on_event=None):
        self.id = rid
        self.cmd = cmd
        self.args = args
        self.on_event = on_event
        self.state = PENDING
        self.progress = None      # the last progress event (fraction, message, fields)
        self.result = None
        self.error = None         # message
        self.traceback = ""       # the worker's traceback, for errors raised there
        self.exception = None     # what ``wait`` raises for this request

    @property
    def finished(self):
        return self.state in FINISHED

    @property
    def fraction(self):
        return self.progress["fraction"] if self.progress else 0.0

    def __repr__(self):
        return f"<Request {self.id} {self.cmd} {self.state}>"


# -- the client ---------------------------------------------------------------------------

_clients = weakref.WeakSet()


class WorkerClient:
    def __init__(self, python=None, root=ROOT, timeout=DEFAULT_TIMEOUT):
        self.preferred_python = python
        self.python = None
        self.root = root
        self.timeout = timeout
        self.info = None          # the worker's 'ready' event (pid, python, numpy, torch)
        self.busy = None          # request id the last heartbeat said was running
        self.last_exit_code = None
        self._proc = None
        self._generation = 0      # events carry the generation of the process that sent them
        self._events = queue.Queue()
        self._requests = {}
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._last_frame = 0.0    # monotonic time of the last frame read (reader thread)
        self._reader_done = True
        self._exited_at = None    # when poll() first saw the process gone
        self._log_dir = None
        self._log_path = None
        _clients.add(self)

    # lifecycle

    @property
    def alive(self):
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    def start(self):
        if self.alive:
            return self
        self._forget_process()
        self.python = find_engine_python(self.preferred_python)
        if self._log_dir is None:
            self._log_dir = tempfile.mkdtemp(prefix="motiondna-worker-")
        self._generation += 1
        self._log_path = os.path.join(self._log_dir, f"worker-{self._generation}.log")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.root, env.get("PYTHONPATH")) if p)
        flags = 0
        if sys.platform == "win32":  # keep Ctrl+C/Break and a console window away from it
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        with open(self._log_path, "wb") as log:
            # cwd: ``-m`` puts it first on sys.path, so an 'engine' folder in Blender's
            # working directory would shadow ours; the private log folder holds none.
            self._proc = subprocess.Popen(
                [self.python, "-X", "faulthandler", "-m", WORKER_MODULE],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                cwd=self._log_dir, creationflags=flags)
        self._last_frame = time.monotonic()
        self._reader_done = False
        self._exited_at = None
        self.info = None
        threading.Thread(target=self._read_events, args=(self._proc, self._generation),
                         name="mdna-worker-reader", daemon=True).start()
        return self

    def shutdown(self, timeout=3.0):
        """Ask the worker to exit, kill it if it does not within ``timeout`` seconds.
        Open requests end as cancelled."""
        proc = self._proc
        if proc is not None:
            try:
                self._send({"id": 0, "cmd": "shutdown", "args": {}})
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.last_exit_code = proc.returncode
        self._finish_all(CANCELLED, "the engine worker was shut down", Cancelled)
        self._forget_process()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def kill(self):
        """Kill the worker right away (what the hung-worker check does)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _forget_process(self):
        proc, self._proc = self._proc, None
        if proc is not None:
            try:  # stdout is the reader thread's to close: closing it under a read can block
                proc.stdin.close()
            except OSError:
                pass
        self._generation += 1  # whatever the old reader still queues is now stale
        self.busy = None

    def stderr_tail(self, lines=12, max_bytes=8192):
        """The last lines the worker wrote to stderr (its log), for error messages."""
        if not self._log_path or not os.path.isfile(self._log_path):
            return ""
        with open(self._log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    # requests

    def submit(self, cmd, args=None, on_event=None):
        """Send a command; returns its Request at once. Starts (or restarts) the worker.
        ``on_event(event)`` is called from ``pump``/``wait`` with each event of this request
        (progress, result, error, cancelled; a dead worker gives an 'error' event too)."""
        if not self.alive:
            self.start()
        req = Request(next(self._ids), cmd, dict(args or {}), on_event)
        self._requests[req.id] = req
        try:
            self._send({"id": req.id, "cmd": cmd, "args": req.args})
        except OSError:
            self._check_health(force_exit_wait=True)  # the worker is gone: fail its requests
        return req

    def cancel(self, request):
        """Ask the worker to stop ``request``; its state turns 'cancelled' once the worker
        confirms (a request that finishes first keeps its result)."""
        if request.finished or request.id not in self._requests:
            return
        try:
            self._send({"id": next(self._ids), "cmd": "cancel", "args": {"id": request.id}})
        except OSError:
            self._check_health(force_exit_wait=True)

    def pump(self, max_events=None):
        """Dispatch the events received so far; never blocks. Returns how many were handled.
        Also notices a worker that died or stopped sending heartbeats."""
        return self._pump(max_events, block=0.0)

    def wait(self, request, timeout=None):
        """Pump until ``request`` finishes; return its result dict. Raises WorkerError,
        Cancelled, WorkerDied, or TimeoutError (the request keeps running then).
        Ctrl+C while waiting cancels the request."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not request.finished:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"the engine did not finish '{request.cmd}' within {timeout:g} s")
                self._pump(None, block=0.1)
        except KeyboardInterrupt:
            self.cancel(request)
            raise
        if request.state == DONE:
            return request.result
        raise request.exception

    def call(self, cmd, args=None, timeout=None, on_event=None):
        """submit + wait."""
        return self.wait(self.submit(cmd, args, on_event), timeout)

    # internals

    def _send(self, obj):
        if self._proc is None:
            raise BrokenPipeError("the engine worker is not running")
        with self._write_lock:
            protocol.write_frame(self._proc.stdin, obj)

    def _read_events(self, proc, generation):
        """Reader thread: frames from the worker's stdout into the event queue."""
        try:
            while True:
                frame = protocol.read_frame(proc.stdout)
                if frame is None:
                    break
                self._last_frame = time.monotonic()
                self._events.put((generation, frame))
        except (protocol.ProtocolError, OSError, ValueError) as e:
            self._events.put((generation, {"event": "_stream_error", "message": str(e)}))
        finally:
            self._events.put((generation, {"event": "_eof"}))
            proc.stdout.close()

    def _pump(self, max_events, block):
        handled = 0
        while max_events is None or handled < max_events:
            try:
                if block and handled == 0:
                    generation, event = self._events.get(timeout=block)
                else:
                    generation, event = self._events.get_nowait()
            except queue.Empty:
                break
            handled += 1
            if generation == self._generation:
                self._dispatch(event)
        self._check_health()
        return handled

    def _dispatch(self, event):
        kind = event.get("event")
        if kind == "heartbeat":
            self.busy = event.get("busy")
            req = self._requests.get(self.busy)
            if req is not None and req.state == PENDING:
                req.state = RUNNING
            return
        if kind == "ready":
            self.info = event
            return
        if kind == "_eof":
            self._reader_done = True
            self._check_health(force_exit_wait=True)
            return
        if kind == "_stream_error":
            self.kill()
            self._fail_dead(f"the engine worker sent unreadable output ({event.get('message')})")
            return
        req = self._requests.get(event.get("id"))
        if req is None:
            return  # stale: a request already finished, or from an earlier worker
        self._update(req, kind, event)
        if req.on_event is not None:
            req.on_event(event)

    def _update(self, req, kind, event):
        if kind == "progress":
            req.state, req.progress = RUNNING, event
        elif kind == "result":
            req.state, req.result = DONE, event.get("result") or {}
        elif kind == "error":
            req.state, req.error = ERROR, event.get("message") or "unknown engine error"
            req.traceback = event.get("traceback") or ""
            req.exception = WorkerError(req.error, req.traceback)
        elif kind == "cancelled":
            req.state, req.error = CANCELLED, f"'{req.cmd}' was cancelled"
            req.exception = Cancelled(req.error)
        if req.finished:
            self._requests.pop(req.id, None)

    def _check_health(self, force_exit_wait=False):
        proc = self._proc
        if proc is None:
            return
        code = proc.poll()
        if code is None and force_exit_wait:
            try:  # stdout closed: the process is on its way out
                code = proc.wait(2.0)
            except subprocess.TimeoutExpired:
                code = None
        if code is not None:
            # Let the reader deliver what the worker wrote before dying (a final result),
            # but don't trust a pipe a grandchild might still hold open for long.
            now = time.monotonic()
            self._exited_at = self._exited_at or now
            if self._reader_done or now - self._exited_at > 2.0:
                self.last_exit_code = code
                self._fail_dead(f"the engine worker stopped unexpectedly ({_describe_exit(code)})")
            return
        timeout = self.timeout if self.info is not None else max(self.timeout, STARTUP_TIMEOUT)
        if time.monotonic() - self._last_frame > timeout:
            self.kill()
            self.last_exit_code = proc.returncode
            self._fail_dead(f"the engine worker stopped responding (no heartbeat for "
                            f"{timeout:g} s) and was stopped")

    def _fail_dead(self, message):
        tail = self.stderr_tail()
        if tail:
            message = f"{message}: {tail}"
        self._forget_process()
        self._finish_all(ERROR, message, WorkerDied)

    def _finish_all(self, state, message, exc_type):
        requests, self._requests = list(self._requests.values()), {}
        for req in requests:
            req.state, req.error, req.exception = state, message, exc_type(message)
            if req.on_event is not None:
                req.on_event({"id": req.id, "event": state, "message": message})


def _describe_exit(code):
    if code < 0:
        try:
            return f"exit code {code}, killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


@atexit.register
def _shutdown_all_clients():
    for client in list(_clients):
        try:
            client.shutdown(timeout=2.0)
        except Exception:  # exiting anyway; never block interpreter exit on a worker
            pass


# -- shared client ------------------------------------------------------------------------

_shared = None


def get_client(python=None):
    """The shared, warm client; started on demand and restarted if it died.

    ``python``: the engine interpreter (the add-on preference). When given and different
    from the running one, the worker is replaced. When None, an existing client is kept
    as it is (so a timer can call ``get_client().pump()`` cheaply), and a new one uses
    ``find_engine_python()``."""
    global _shared
    if python or _shared is None:
        resolved = find_engine_python(python)
        if _shared is not None and _shared.python != resolved:
            _shared.shutdown()
            _shared = None
        if _shared is None:
            _shared = WorkerClient(python=resolved)
    if not _shared.alive:
        _shared.start()
    return _shared


def shutdown_shared():
    """Stop the shared worker (the add-on's unregister calls this, so disabling or
    reloading the add-on does not leave a worker running until Blender exits)."""
    global _shared
    if _shared is not None:
        _shared.shutdown()
        _shared = None


def build_generator(clip_path, out_path, settings=None, on_progress=None, python=None):
    """Build a generator from a saved clip synchronously in the worker; returns the result
    dict. ``on_progress(event)`` gets each progress event (fraction, message, step, ...)."""
    client = get_client(python)

    def on_event(event):
        if event.get("event") == "progress" and on_progress is not None:
            on_progress(event)

    args = {"clip": os.path.abspath(os.fspath(clip_path)), "out": os.path.abspath(os.fspath(out_path)),
            "settings": settings}
    return client.wait(client.submit("build", args, on_event))
