"""Building, updating, saving and searching a library index."""
import csv
import json
import os
import shutil

import pytest

from motiondna.engine.library import index as library_index
from motiondna.engine.library.search import Filters, Searcher

from conftest import CLIP, ROOT

STARTER_INDEX = os.path.join(ROOT, "data", "library", "starter.json")


@pytest.fixture
def library(tmp_path):
    shutil.copy(CLIP, tmp_path / "14_14.bvh")                  # described by the CMU index
    shutil.copy(CLIP, tmp_path / "star_jumps_take2.bvh")       # described by its file name
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(CLIP, sub / "clip_a.bvh")                      # described by the sidecar
    with open(sub / "descriptions.csv", "w", newline="") as f:
        csv.writer(f).writerows([["file", "description"], ["clip_a.bvh", "a gymnast does star jumps"]])
    (tmp_path / "notes.txt").write_text("not a clip")
    return tmp_path


def test_index_reads_descriptions_and_features(library):
    idx, stats = library_index.update_index([library])
    by_name = {os.path.basename(e["path"]): e for e in idx.entries}
    assert stats["files"] == 3 and stats["read"] == 3 and stats["reused"] == 0
    assert by_name["14_14.bvh"]["description_source"] == "cmu index"
    assert "jumping jacks" in by_name["14_14.bvh"]["description"]
    assert by_name["star_jumps_take2.bvh"]["description"] == "star jumps take"
    assert by_name["clip_a.bvh"]["description"] == "a gymnast does star jumps"
    e = by_name["clip_a.bvh"]
    assert e["rig"] == "cmu_3dsmax" and e["joints"] == 31 and e["frames"] == 125
    assert e["fps"] == pytest.approx(30, abs=0.01) and e["duration"] == pytest.approx(125 / 30, abs=0.01)
    assert e["travel"] < 0.3                                        # jumping jacks stay on the spot
    assert set(e["limbs"][:2]) == {"left arm", "right arm"}          # and swing the arms most
    assert idx.embeddings.shape == (3, 256)


def test_update_rereads_only_changed_files(library, tmp_path):
    first, _ = library_index.update_index([library])
    first.save(tmp_path / "lib.json")
    loaded = library_index.Index.load(tmp_path / "lib.json")
    again, stats = library_index.update_index([library], previous=loaded)
    assert stats["read"] == 0 and stats["reused"] == 3 and stats["embedded"] == 0
    with open(library / "sub" / "descriptions.csv", "w", newline="") as f:  # a new description
        csv.writer(f).writerows([["file", "description"], ["clip_a.bvh", "waving both arms"]])
    third, stats = library_index.update_index([library], previous=again)
    assert stats["read"] == 1 and stats["embedded"] == 1
    assert "waving both arms" in [e["description"] for e in third.entries]


def test_unreadable_clips_are_skipped_with_a_reason(library):
    (library / "broken.bvh").write_text("HIERARCHY\nROOT x\n{")
    idx, stats = library_index.update_index([library])
    assert stats["skipped"] == 1 and len(idx) == 3
    assert idx.skipped[0][0].endswith("broken.bvh")


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        library_index.update_index([tmp_path / "nope"])


def test_index_refuses_another_version(library, tmp_path):
    idx, _ = library_index.update_index([library])
    idx.save(tmp_path / "lib.json")
    doc = json.loads((tmp_path / "lib.json").read_text())
    doc["version"] = 99
    (tmp_path / "lib.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="rebuild"):
        library_index.Index.load(tmp_path / "lib.json")


@pytest.fixture(scope="module")
def starter_searcher():
    return Searcher(library_index.with_trials(library_index.Index.load(STARTER_INDEX)))


@pytest.mark.parametrize("prompt,trial", [("jumping jacks", "14_14"), ("a boxer throws punches", "02_05"),
                                          ("dribbling a basketball", None), ("a ballet dancer pirouettes", None)])
def test_starter_library_answers_prompts_with_its_own_clips(starter_searcher, prompt, trial):
    results = starter_searcher.search(prompt, top=1, filters=Filters(files_only=True))
    assert results and os.path.isfile(results[0].entry["path"])
    if trial:
        assert results[0].entry["trial"] == trial
    else:
        word = "basketball" if "basketball" in prompt else "dance"
        assert word in results[0].entry["description"]


def test_search_also_names_cmu_trials_to_fetch(starter_searcher):
    results = starter_searcher.search("alternating jumping jacks with two people", top=5)
    trials = [r.entry for r in results if r.entry["kind"] == "trial"]
    assert trials and trials[0]["fetch"].startswith("http://mocap.cs.cmu.edu/")


def test_filters_drop_entries(starter_searcher):
    short = starter_searcher.search("walk", top=50, filters=Filters(max_duration=3.0, files_only=True))
    assert short and all(r.entry["duration"] <= 3.0 for r in short)
    moving = starter_searcher.search("walk", top=50, filters=Filters(min_travel=1.0))
    assert moving and all(r.entry["travel"] >= 1.0 for r in moving)
    assert not starter_searcher.search("walk", filters=Filters(rigs=("mixamo",)))
    with pytest.raises(ValueError, match="empty"):
        starter_searcher.search("  ")
