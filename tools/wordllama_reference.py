"""Writes tests/engine/library/wordllama_reference.json with the wordllama package itself.

Run in a scratch venv that has ``wordllama`` (and so numpy >= 2, tokenizers, safetensors):
``python tools/wordllama_reference.py TEXTS.json OUT.json``. The output holds each text's
token ids and the first 16 components of its normalized embedding.
"""
import json
import os
import sys

import numpy as np
import wordllama
from safetensors.numpy import load_file
from tokenizers import Tokenizer
from wordllama.inference import WordLlamaInference

PACKAGE = os.path.dirname(wordllama.__file__)


def main(texts_path, out_path):
    tokenizer = Tokenizer.from_file(os.path.join(PACKAGE, "tokenizers", "l2_supercat_tokenizer_config.json"))
    table = load_file(os.path.join(PACKAGE, "weights", "l2_supercat_256.safetensors"))["embedding.weight"]
    model = WordLlamaInference(table, tokenizer)
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    ids = [tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
    vectors = model.embed(texts, norm=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "ids": ids, "vectors": np.round(vectors[:, :16].astype(float), 6).tolist()}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
