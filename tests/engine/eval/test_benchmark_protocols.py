"""engine/eval/benchmark.py: choosing protocols, and the retiming, far and streaming hooks."""
import json

import pytest

from motiondna.engine.eval import benchmark, preview

from conftest import CLIP


def test_protocols_pick_what_runs_and_the_report_shows_each(tmp_path):
    argv = ["--quick", "--no-shared", "--clips", CLIP, "--methods", "replay,refined_source",
            "--protocols", "retiming,far,catch,punch", "--out", str(tmp_path)]
    assert benchmark.main(argv) == 0
    report = json.loads((tmp_path / "benchmark.json").read_text())
    (clip,) = report["clips"]
    assert clip["methods"] == {} and "variations" not in clip                # edits and variations not asked for
    assert set(clip["retiming"]["methods"]) == {"replay", "refined_source", "timewarp"}
    assert set(clip["catch"]["methods"]) == {"replay", "refined_source", "refined_stream"}
    assert len(clip["catch"]["throws"]) == 10 and len(clip["far"]["edits"]) == 6 * 3
    assert set(report["target_protocols"]) == {"retiming", "far", "catch", "punch"}
    picture = tmp_path / "catch" / "jumping_jacks.png"
    if preview.can_draw():
        assert clip["catch"]["picture"] == str(picture) and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:  # Blender's own Python: no matplotlib, the report says so
        assert "picture" not in clip["catch"] and "catch picture skipped: matplotlib is not installed" in clip["notes"]
    md = (tmp_path / "benchmark.md").read_text()
    for title in ("## Retiming edits across clips", "## Far targets across clips", "## Streaming catch across clips",
                  "## Streaming punch across clips", "| share of clips meeting |"):
        assert title in md


def test_an_unknown_protocol_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown protocol"):
        benchmark.main(["--no-shared", "--clips", CLIP, "--protocols", "edits,juggling", "--out", str(tmp_path)])


def test_runs_over_different_clips_merge_into_one_report(tmp_path):
    other = tmp_path / "jacks_again.bvh"
    other.write_bytes(open(CLIP, "rb").read())
    for name, clip in (("a", CLIP), ("b", str(other))):
        assert benchmark.main(["--quick", "--no-shared", "--clips", clip, "--methods", "replay",
                               "--protocols", "retiming", "--out", str(tmp_path / name)]) == 0
    runs = [str(tmp_path / n / "benchmark.json") for n in ("b", "a")]
    assert benchmark.main(["--merge", *runs, "--out", str(tmp_path / "all")]) == 0
    report = json.loads((tmp_path / "all" / "benchmark.json").read_text())
    assert [c["path"] for c in report["clips"]] == sorted([CLIP, str(other)])
    single = json.loads((tmp_path / "a" / "benchmark.json").read_text())["target_protocols"]["retiming"]
    merged = report["target_protocols"]["retiming"]
    assert merged["clips"] == 2 and merged["methods"]["replay"]["edits"] == 2 * single["methods"]["replay"]["edits"]
    assert "## Retiming edits across clips (2 clips)" in (tmp_path / "all" / "benchmark.md").read_text()
