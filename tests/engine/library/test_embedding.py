"""The numpy WordLlama port against the wordllama package's own ids and vectors
(tests/engine/library/wordllama_reference.json, written by tools/wordllama_reference.py)."""
import json
import os

import numpy as np
import pytest

from motiondna.engine.library.embedding import MODEL_DIR, TextEmbedder, read_safetensors

REFERENCE = os.path.join(os.path.dirname(__file__), "wordllama_reference.json")


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedder()


def _reference():
    with open(REFERENCE, encoding="utf-8") as f:
        ref = json.load(f)
    return list(zip(ref["texts"], ref["ids"], ref["vectors"]))


@pytest.mark.parametrize("text,ids,vector", _reference())
def test_token_ids_and_vectors_match_wordllama(embedder, text, ids, vector):
    assert embedder.tokenizer.encode(text) == ids
    got = embedder.embed([text])[0]
    if ids:
        np.testing.assert_allclose(got[:16], vector, atol=2e-6)
        assert abs(np.linalg.norm(got) - 1.0) < 1e-5
    else:
        assert not got.any()  # an empty text has no direction


def test_similar_texts_are_closer_than_unrelated_ones(embedder):
    a, b, c = embedder.embed(["a boxer throws punches", "punch/strike", "basketball - forward dribble"])
    assert a @ b > a @ c


def test_safetensors_header_is_read():
    table = read_safetensors(os.path.join(MODEL_DIR, "l2_supercat_256.safetensors"), "embedding.weight")
    assert table.shape == (32000, 256) and table.dtype == np.float16
