"""The CLI's limits and progress, run in this process (``cli.main``): a clip over the
frame limit is refused before the worker starts, and a slow generate prints its progress."""
import pytest

from motiondna.blender_motiondna import cli, worker_client
from motiondna.engine.generator import build

from conftest import CLIP


@pytest.fixture(scope="module", autouse=True)
def unregistered_afterwards():
    """``cli.main`` registers the add-on in this process (as ``python -m`` does); the other
    test modules register it themselves."""
    yield
    import motiondna
    if motiondna.is_registered():
        motiondna.unregister()


def test_a_clip_over_the_frame_limit_is_refused_before_the_worker_starts(tmp_path, monkeypatch, capfd):
    def no_worker(*args, **kwargs):
        raise AssertionError("the worker was started")

    monkeypatch.setattr(worker_client, "get_client", no_worker)
    monkeypatch.setattr(build, "MAX_CLIP_FRAMES", 100)  # the bundled clip has 125 frames
    out = tmp_path / "g.mdna"
    assert cli.main(["build", "--clip", CLIP, "--out", str(out)]) == 1
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("motiondna")]
    assert errors == ["motiondna: error: the clip has 125 frames: a build takes at most 100 (time grows with the "
                      "square of the clip); build from a frame range or a shorter clip"]
    assert not out.exists()


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "g.mdna"
    assert cli.main(["build", "--clip", CLIP, "--out", str(path)]) == 0
    return path


@pytest.mark.slow  # the build runs in a worker process
def test_generate_prints_its_progress_when_it_is_slow(generator_path, tmp_path, monkeypatch, capfd):
    from motiondna.blender_motiondna.cli import generate
    targets = tmp_path / "t.json"
    targets.write_text('{"targets": [{"joint": "RightWrist", "frame": 30, "position": [10, 20, 5]},'
                       ' {"joint": "LeftWrist", "frame": 90, "position": [-10, 20, 5]}]}')
    args = ["generate", "--generator", str(generator_path), "--clip", CLIP, "--targets", str(targets),
            "--out", str(tmp_path / "o.bvh")]
    assert cli.main(args) == 0
    assert "refining" not in capfd.readouterr().err  # quick: no progress lines
    monkeypatch.setattr(generate, "PROGRESS_AFTER_S", 0.0)
    assert cli.main(args) == 0
    err = capfd.readouterr().err
    assert "refining: 100%" in err, err[-2000:]
