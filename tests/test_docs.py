"""The documentation's examples run, in order, as a reader would paste them.

README blocks whose first line is ``# test: run`` (```sh and ```python) are executed in a
scratch folder that looks like the repository (``.venv`` and ``data`` linked in); every
other README code block must be on the short ``NOT_RUN`` list below, so an example cannot
be added without a test noticing. docs/cli.md and docs/formats.md are checked against the
parser and the file readers."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # engine worker processes and CLI subprocesses

MARK = "# test: run"
# Blocks a test does not run, by their first line, and why.
NOT_RUN = {
    "make demo   # set-up (.venv, pinned deps) + the whole product on the bundled CMU clip → out/demo.{blend,bvh,png}":
        "the set-up commands; `motiondna demo` itself runs in tests/blender_motiondna/cli/test_cli.py",
}


def code_blocks(path):
    """(language, text) of every fenced block in a markdown file, in order."""
    text = open(path, encoding="utf-8").read()
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def readme_examples():
    return [(lang, body) for lang, body in code_blocks(os.path.join(ROOT, "README.md"))
            if lang in ("sh", "python") and body.startswith(MARK)]


def test_every_readme_example_is_run_or_listed():
    for lang, body in code_blocks(os.path.join(ROOT, "README.md")):
        if lang in ("sh", "python", "bash", ""):
            first = body.splitlines()[0] if body else ""
            assert first == MARK or first in NOT_RUN, f"README block not run by a test: {first!r}"
    assert len(readme_examples()) >= 3


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder like the repository root for the README's relative paths. Its ``.venv`` is
    the environment running the tests: in the Blender version matrix, that Blender's."""
    ws = tmp_path_factory.mktemp("readme")
    os.symlink(sys.prefix, ws / ".venv")
    os.symlink(os.path.join(ROOT, "data"), ws / "data")
    return ws


@pytest.fixture(scope="module")
def ran_examples(workspace):
    # PWD as a shell sets it: Blender resolves relative paths against $PWD, not getcwd().
    env = dict(os.environ, PYTHONPATH=ROOT, PWD=str(workspace))
    outputs = []
    for i, (lang, body) in enumerate(readme_examples()):
        if lang == "python":
            script = workspace / f"example_{i}.py"
            script.write_text(body)
            argv = [str(workspace / ".venv" / "bin" / "python"), str(script)]
        else:
            argv = ["bash", "-e", "-o", "pipefail", "-c", body]
        done = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"README example {i} ({lang}) failed:\n{body}\n--- stderr:\n{done.stderr[-4000:]}"
        outputs.append(done.stdout)
    return outputs


def test_readme_examples_make_what_they_say(workspace, ran_examples):
    from motiondna.engine.io import bvh, generator_file
    out = workspace / "out"
    for name in ("generators/jumping_jacks.mdna", "generators/jj_scripted.mdna"):
        generator_file.load(str(out / name))
    assert len(bvh.read_bvh(str(out / "jj_edit.bvh")).frames) == 125
    for shot in ("shot_010", "shot_020"):
        assert (out / "shots" / f"{shot}.blend").is_file() and (out / "baked" / f"{shot}.blend").is_file()
    cli_run, script_run, batch_run = ran_examples[:3]
    assert "125 frames" in cli_run and json.JSONDecoder().raw_decode(cli_run[cli_run.index("{"):])[0]["targets"] == 2
    assert "shot_020 jumping_jacks.mdna.001" in script_run
    assert "skipped  " in batch_run and "2 done, 0 skipped, 0 failed of 2" in batch_run
    stream_run = ran_examples[3]
    assert "(31, 4) 40 (8, 31, 4)" in stream_run


def test_the_play_live_example_of_docs_blender_md_runs(workspace):
    """docs/blender.md's Play Live script, as a reader saves and runs it."""
    blocks = [body for lang, body in code_blocks(os.path.join(ROOT, "docs", "blender.md"))
              if lang == "python" and body.startswith(MARK)]
    assert len(blocks) == 1
    script = workspace / "play_live.py"
    script.write_text(blocks[0])
    env = dict(os.environ, PYTHONPATH=ROOT, PWD=str(workspace))
    done = subprocess.run([str(workspace / ".venv" / "bin" / "python"), str(script)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "jumping_jacks.live (1.0, 120.0)" in done.stdout and "\n120\n" in done.stdout


def test_cli_reference_lists_every_option():
    from motiondna.blender_motiondna import cli
    text = open(os.path.join(ROOT, "docs", "cli.md"), encoding="utf-8").read()
    parser = cli._parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        assert f"## `{name}`" in text, name
        for action in sp._actions:
            for option in action.option_strings:
                assert option in text, f"docs/cli.md does not mention {name} {option}"


def test_formats_doc_matches_the_readers():
    import numpy as np

    from motiondna.engine.io import bvh, generator_file
    from motiondna.engine.motion.targets import parse_targets
    text = open(os.path.join(ROOT, "docs", "formats.md"), encoding="utf-8").read()
    for key in generator_file.REQUIRED_ARRAYS + generator_file.REQUIRED_META:
        assert f"`{key}`" in text, key
    example = next(body for lang, body in code_blocks(os.path.join(ROOT, "docs", "formats.md"))
                   if lang == "json" and '"targets"' in body)
    motion = bvh.read_bvh(os.path.join(ROOT, "data", "jumping_jacks.bvh")).to_motion()
    targets = parse_targets(json.loads(example), motion.skeleton, motion.num_frames)
    assert [len(t.frames) for t in targets] == [1, 3] and targets[1].weight == pytest.approx(0.8)
    # The README's example targets are the documented ones: a raised wrist, a lifted ankle.
    wrist = motion.positions()[60, motion.skeleton.index("RightWrist")]
    assert np.linalg.norm(targets[0].positions[0] - wrist) * 0.056 < 0.3
