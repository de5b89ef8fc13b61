"""The engine worker process, its frame protocol and the Blender-side client.

These start real worker processes with the engine Python (numpy is all they need)."""
import io
import json
import os
import signal
import struct
import subprocess
import time

import pytest

from motiondna.blender_motiondna import worker_client as wc
from motiondna.engine.worker import protocol

from conftest import ENGINE_PYTHON, ROOT

pytestmark = pytest.mark.slow  # engine worker processes and CLI subprocesses



def pid_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone (its parent just has not reaped it).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_exists(pid):
            return True
        time.sleep(0.05)
    return False


def pump_until(client, condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        client.pump()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client():
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    c.start()
    yield c
    c.shutdown()


# -- protocol ------------------------------------------------------------------------------

def test_frames_round_trip():
    buf = io.BytesIO()
    messages = [{"id": 1, "cmd": "ping", "args": {}}, {"text": "é ü 字", "n": [1.5, None, True]}, {}]
    for m in messages:
        protocol.write_frame(buf, m)
    buf.seek(0)
    assert [protocol.read_frame(buf) for _ in messages] == messages
    assert protocol.read_frame(buf) is None  # clean EOF


def test_frames_encode_numpy_values():
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    protocol.write_frame(buf, {"loss": np.float32(0.5), "shape": np.arange(3)})
    buf.seek(0)
    assert protocol.read_frame(buf) == {"loss": 0.5, "shape": [0, 1, 2]}


def test_truncated_frames_are_refused():
    frame = protocol.encode_frame({"id": 7, "event": "result"})
    with pytest.raises(protocol.ProtocolError, match="truncated"):
        protocol.read_frame(io.BytesIO(frame[:2]))   # inside the header
    with pytest.raises(protocol.ProtocolError, match="truncated"):
        protocol.read_frame(io.BytesIO(frame[:-3]))  # inside the payload


def test_oversized_and_malformed_frames_are_refused():
    huge = struct.pack(">I", protocol.MAX_FRAME_BYTES + 1) + b"{}"
    with pytest.raises(protocol.ProtocolError, match="limit"):
        protocol.read_frame(io.BytesIO(huge))
    bad = b"{not json"
    with pytest.raises(protocol.ProtocolError, match="JSON"):
        protocol.read_frame(io.BytesIO(struct.pack(">I", len(bad)) + bad))
    array = json.dumps([1, 2]).encode()
    with pytest.raises(protocol.ProtocolError, match="object"):
        protocol.read_frame(io.BytesIO(struct.pack(">I", len(array)) + array))
    with pytest.raises(protocol.ProtocolError):
        protocol.encode_frame([1, 2])


# -- the worker through the client ---------------------------------------------------------

def test_ping_reports_the_worker(client):
    info = client.call("ping", timeout=30)
    assert info["pid"] == client.pid != os.getpid()
    assert info["numpy"] and info["python"] and "torch" in info   # torch: informational, None when absent
    assert client.info["event"] == "ready" and client.info["pid"] == client.pid and client.info["numpy"]


def test_sleep_reports_progress_and_cancels_midway(client):
    seen = []
    req = client.submit("sleep", {"seconds": 3.0, "steps": 30}, on_event=seen.append)
    pump_until(client, lambda: req.fraction >= 0.2)
    assert req.state == "running" and 0.2 <= req.fraction < 0.6
    assert req.progress["total"] == 30 and "sleeping" in req.progress["message"]
    client.cancel(req)
    with pytest.raises(wc.Cancelled):
        client.wait(req, timeout=5)
    assert req.state == "cancelled" and req.fraction < 0.7
    kinds = [e["event"] for e in seen]
    assert kinds[-1] == "cancelled" and set(kinds[:-1]) == {"progress"}
    # Progress fractions only grow.
    fractions = [e["fraction"] for e in seen if e["event"] == "progress"]
    assert fractions == sorted(fractions)


def test_sleep_finishes_with_a_result(client):
    assert client.call("sleep", {"seconds": 0.2, "steps": 4}, timeout=10) == {"slept": 0.2}


def test_cancel_of_a_queued_request(client):
    first = client.submit("sleep", {"seconds": 0.5, "steps": 5})
    queued = client.submit("sleep", {"seconds": 5.0})
    client.cancel(queued)  # arrives while 'first' still runs: 'queued' must never start
    assert client.wait(first, timeout=10) == {"slept": 0.5}
    with pytest.raises(wc.Cancelled):
        client.wait(queued, timeout=5)
    assert queued.progress is None


def test_unknown_command_is_an_error_and_the_worker_keeps_serving(client):
    pid = client.pid
    req = client.submit("no_such_command", {"x": 1})
    with pytest.raises(wc.WorkerError, match="unknown engine command 'no_such_command'"):
        client.wait(req, timeout=10)
    assert req.state == "error" and "ping" in req.error
    assert client.call("ping", timeout=10)["pid"] == pid


def test_task_exception_carries_the_remote_traceback(client):
    # 'build' with a clip file that does not exist fails inside the worker.
    req = client.submit("build", {"clip": "/nonexistent/clip.npz", "out": "/nonexistent/g.mdna"})
    with pytest.raises(wc.WorkerError) as info:
        client.wait(req, timeout=30)
    assert "Traceback" in info.value.remote_traceback
    assert "Engine traceback" in str(info.value)
    assert client.alive


def test_timeout_leaves_the_request_running(client):
    req = client.submit("sleep", {"seconds": 1.0, "steps": 10})
    with pytest.raises(TimeoutError):
        client.wait(req, timeout=0.2)
    assert not req.finished
    assert client.wait(req, timeout=10) == {"slept": 1.0}


def test_stale_and_unknown_events_are_dropped(client):
    req = client.submit("ping")
    result = client.wait(req, timeout=10)
    # A late event for a finished request, one for an id never sent and one from an
    # earlier worker process must change nothing.
    client._events.put((client._generation, {"id": req.id, "event": "error", "message": "late"}))
    client._events.put((client._generation, {"id": 10 ** 9, "event": "result", "result": {}}))
    client._events.put((client._generation - 1, {"id": req.id, "event": "cancelled"}))
    assert client.pump() == 3
    assert req.state == "done" and req.result == result and req.error is None


def test_heartbeats_arrive_while_idle(client):
    last = client._last_frame
    time.sleep(1.5)
    client.pump()
    assert client._last_frame > last and client.busy is None


def test_killed_worker_fails_its_requests_and_restarts():
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    try:
        seen = []
        req = c.submit("sleep", {"seconds": 20.0}, on_event=seen.append)
        queued = c.submit("ping")
        pump_until(c, lambda: req.progress is not None)
        assert queued.state == "pending"
        old_pid = c.pid
        os.kill(old_pid, signal.SIGKILL)
        with pytest.raises(wc.WorkerDied, match=r"stopped unexpectedly \(exit code -9"):
            c.wait(req, timeout=10)
        assert req.state == "error" and seen[-1]["event"] == "error"
        assert not c.alive
        info = c.call("ping", timeout=30)  # the next submit starts a fresh worker
        assert info["pid"] == c.pid != old_pid
    finally:
        c.shutdown()


def test_death_message_includes_the_worker_stderr(monkeypatch):
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    # An extension root whose engine.worker fails at import: the worker dies at start.
    monkeypatch.setattr(c, "root", os.path.join(ROOT, "no-such-dir"))
    try:
        req = c.submit("ping")
        with pytest.raises(wc.WorkerDied, match=r"exit code 1\b.*No module named"):
            c.wait(req, timeout=30)
    finally:
        c.shutdown()


def test_hung_worker_is_killed():
    c = wc.WorkerClient(python=ENGINE_PYTHON, timeout=1.5)
    try:
        c.call("ping", timeout=30)
        pid = c.pid
        os.kill(pid, signal.SIGSTOP)  # alive, but silent: no more heartbeats
        req = c.submit("ping")
        with pytest.raises(wc.WorkerDied, match="stopped responding"):
            c.wait(req, timeout=10)
        assert wait_gone(pid)
    finally:
        c.shutdown()


def test_shutdown_leaves_no_process():
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    c.call("ping", timeout=30)
    pid = c.pid
    running = c.submit("sleep", {"seconds": 30.0})
    c.shutdown(timeout=5)
    assert running.state == "cancelled"
    assert not c.alive and wait_gone(pid)
    assert c.last_exit_code == 0  # it exited on request, it was not killed


def test_worker_exits_on_stdin_eof_even_while_busy():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([ENGINE_PYTHON, "-m", "engine.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        protocol.write_frame(proc.stdin, {"id": 1, "cmd": "sleep", "args": {"seconds": 60, "steps": 600}})
        while True:
            frame = protocol.read_frame(proc.stdout)
            if frame.get("event") == "progress":
                break
        proc.stdin.close()  # what the worker sees when Blender dies
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


def test_printing_to_stdout_does_not_break_framing(monkeypatch):
    monkeypatch.setenv("MOTIONDNA_WORKER_TEST_COMMANDS", "1")
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    try:
        assert c.call("echo_print", {"a": [1, 2]}, timeout=30) == {"echo": {"a": [1, 2]}}
        assert c.call("ping", timeout=10)["pid"] == c.pid
        tail = c.stderr_tail()  # the prints went to the worker's log instead
        assert "stray print from a task" in tail and "stray bytes written straight to fd 1" in tail
    finally:
        c.shutdown()


def test_find_engine_python(tmp_path):
    assert wc.find_engine_python() == ENGINE_PYTHON
    assert wc.find_engine_python(ENGINE_PYTHON) == ENGINE_PYTHON
    # A named interpreter that does not work is refused, never silently replaced.
    with pytest.raises(wc.EngineUnavailable, match=r"the engine interpreter '.*missing-python' is not an executable.*--python PATH"):
        wc.find_engine_python(str(tmp_path / "missing-python"))
    no_numpy = tmp_path / "python-without-numpy"
    no_numpy.write_text("#!/bin/sh\nexit 1\n")
    no_numpy.chmod(0o755)
    assert not wc.can_run_engine(str(no_numpy))
    with pytest.raises(wc.EngineUnavailable, match="cannot import numpy"):
        wc.find_engine_python(str(no_numpy))


def test_engine_unavailable_message(monkeypatch, tmp_path):
    fake = tmp_path / "python-without-numpy"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(wc.sys, "executable", str(fake))
    monkeypatch.delenv(wc.ENGINE_PYTHON_VARIABLE, raising=False)
    with pytest.raises(wc.EngineUnavailable, match="this one .* cannot be started.*--python PATH.*MOTIONDNA_ENGINE_PYTHON.*add-on preferences"):
        wc.find_engine_python()


def test_shared_client_stays_warm_and_restarts():
    try:
        a = wc.get_client(ENGINE_PYTHON)
        first = a.pid
        assert wc.get_client() is a and a.pid == first  # no argument: keep the running one
        a.kill()
        assert wc.get_client() is a and a.alive and a.pid != first
        second = a.pid
    finally:
        wc.shutdown_shared()
    assert wc._shared is None and wait_gone(second)


# -- a real build through the worker -------------------------------------------------------

def tiny_clip(frames=48):
    """A small biped swinging its limbs for two seconds while walking along Y."""
    import numpy as np

    from motiondna.engine.motion import quat
    from motiondna.engine.motion.skeleton import Motion, Skeleton
    names = ["hips", "spine", "head", "arm_l", "hand_l", "arm_r", "hand_r", "leg_l", "foot_l", "leg_r", "foot_r"]
    parents = [-1, 0, 1, 1, 3, 1, 5, 0, 7, 0, 9]
    offsets = [[0, 0, 1], [0, 0, .3], [0, 0, .3], [.2, 0, .2], [.3, 0, 0], [-.2, 0, .2], [-.3, 0, 0],
               [.1, 0, 0], [0, 0, -.5], [-.1, 0, 0], [0, 0, -.5]]
    skeleton = Skeleton(names, parents, np.tile([1.0, 0, 0, 0], (len(names), 1)), offsets)
    t = np.arange(frames) / 24.0
    angles = 0.5 * np.sin(2 * np.pi * t[:, None] + np.arange(len(names))[None, :])
    rotations = quat.from_axis_angle(np.array([1.0, 0, 0]), angles)
    translations = np.tile(skeleton.rest_translations, (frames, 1, 1))
    translations[:, 0, 1] = 0.5 * t
    return Motion(skeleton, rotations, translations, 24.0, "tiny", {})


@pytest.fixture(scope="module")
def tiny_clip_path(tmp_path_factory):
    from motiondna.engine.io import fileformat
    path = tmp_path_factory.mktemp("clip") / "clip.npz"
    fileformat.save_motion(str(path), tiny_clip())
    return path


def test_build_end_to_end(tmp_path, tiny_clip_path):
    from motiondna.engine.io import generator_file
    out = tmp_path / "g.mdna"
    events = []
    result = wc.build_generator(tiny_clip_path, out, {"candidates": 6, "half_life_s": 0.1}, on_progress=events.append,
                                python=ENGINE_PYTHON)
    try:
        assert result["path"] == str(out) and result["size_bytes"] == out.stat().st_size
        assert result["build_seconds"] > 0 and result["smooth_jumps"] >= 0
        arrays, meta = generator_file.load(str(out))
        assert meta["source_name"] == "tiny" and meta["settings"]["candidates"] == 6
        assert arrays["jumps"].shape == (48, 6) and meta["graph"]["half_life_s"] == 0.1
        fractions = [e["fraction"] for e in events]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert all(e["message"] for e in events)
    finally:
        wc.shutdown_shared()


def test_a_bad_setting_fails_the_build_with_its_message(client, tmp_path, tiny_clip_path):
    out = tmp_path / "g.mdna"
    with pytest.raises(wc.WorkerError, match="settings.half_life_s must be positive"):
        client.call("build", {"clip": str(tiny_clip_path), "out": str(out), "settings": {"half_life_s": -1}}, timeout=30)
    assert not out.exists() and client.call("ping", timeout=10)["pid"] == client.pid


@pytest.fixture
def slow_build_client(monkeypatch):
    """A worker whose builds wait (cancellably) at their first progress report past the
    start, as a long clip's would: a build of the tiny clip takes milliseconds otherwise."""
    from motiondna.engine.worker import server
    monkeypatch.setenv(server.TEST_BUILD_PAUSE_ENV, "60")
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    c.start()
    yield c
    c.shutdown()


def test_the_worker_builds_where_torch_cannot_be_imported(tmp_path, tiny_clip_path, monkeypatch):
    """Stock Blender's Python has numpy and no torch: the worker needs nothing more."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nfor name in ('torch', 'scipy', 'matplotlib'):\n"
                                           "    sys.modules[name] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    c = wc.WorkerClient(python=ENGINE_PYTHON)
    try:
        assert c.call("ping", timeout=60)["torch"] is None
        out = tmp_path / "g.mdna"
        assert c.call("build", {"clip": str(tiny_clip_path), "out": str(out)}, timeout=60)["size_bytes"] == out.stat().st_size
    finally:
        c.shutdown()


def test_build_cancel(slow_build_client, tmp_path, tiny_clip_path):
    client = slow_build_client
    out = tmp_path / "g.mdna"
    req = client.submit("build", {"clip": str(tiny_clip_path), "out": str(out), "settings": {}})
    pump_until(client, lambda: req.fraction > 0.0)
    client.cancel(req)
    started = time.monotonic()
    with pytest.raises(wc.Cancelled):
        client.wait(req, timeout=20)
    assert time.monotonic() - started < 10                 # the pause noticed the cancel
    assert not out.exists()
    assert client.call("ping", timeout=10)["pid"] == client.pid


def test_engine_python_variable_comes_after_the_preference(monkeypatch, tmp_path):
    fake = tmp_path / "python-without-numpy"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(wc.sys, "executable", str(fake))  # a Python that cannot run the engine
    monkeypatch.setenv(wc.ENGINE_PYTHON_VARIABLE, ENGINE_PYTHON)
    assert wc.find_engine_python() == ENGINE_PYTHON
    assert wc.find_engine_python(ENGINE_PYTHON) == ENGINE_PYTHON
    monkeypatch.setenv(wc.ENGINE_PYTHON_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(wc.EngineUnavailable, match=r"\$MOTIONDNA_ENGINE_PYTHON '.*nowhere' is not an executable"):
        wc.find_engine_python()
