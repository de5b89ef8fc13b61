"""The CLI's limits, run in this process (``cli.main``): a clip over the frame limit is
refused before the worker starts."""
from motiondna.blender_motiondna import cli, worker_client
from motiondna.engine.generator import train

from conftest import CLIP


def test_a_clip_over_the_frame_limit_is_refused_before_the_worker_starts(tmp_path, monkeypatch, capfd):
    def no_worker(*args, **kwargs):
        raise AssertionError("the worker was started")

    monkeypatch.setattr(worker_client, "get_client", no_worker)
    monkeypatch.setattr(train, "MAX_CLIP_FRAMES", 100)  # the bundled clip has 125 frames
    out = tmp_path / "g.mdna"
    assert cli.main(["build", "--clip", CLIP, "--out", str(out)]) == 1
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("motiondna")]
    assert errors == ["motiondna: error: the clip has 125 frames: a build learns from at most 100 (memory and time "
                      "grow with the clip); build from a frame range or a shorter clip"]
    assert not out.exists()
