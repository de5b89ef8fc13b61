"""BM25 in numpy against the bm25s package (skipped where bm25s is not installed: the
Blender matrix venvs), and the word splitting."""
import numpy as np
import pytest

from motiondna.engine.library.words import BM25, stem, words


def test_words_drop_stopwords_and_stem():
    assert words("A person jumps over an obstacle") == ["jump", "over", "obstacle"]
    assert words("Jumping jacks, punches; running") == ["jump", "jack", "punch", "run"]
    assert stem("dances") == "dance" and stem("walked") == "walk" and stem("hopping") == "hop"


def test_scores_match_bm25s():
    bm25s = pytest.importorskip("bm25s")
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(40)]
    docs = [list(rng.choice(vocab, rng.integers(1, 15))) for _ in range(300)]
    reference = bm25s.BM25()
    reference.index(docs, show_progress=False)
    mine = BM25(docs)
    for query in (["w1", "w2"], ["w3", "w3", "w4"], ["w39", "nothing"]):
        np.testing.assert_allclose(mine.scores(query), reference.get_scores(query), rtol=1e-5, atol=1e-6)


def test_unknown_words_score_zero():
    assert not BM25([["walk"], ["run"]]).scores(["swim"]).any()
