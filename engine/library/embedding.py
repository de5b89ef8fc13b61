"""Sentence embeddings that run offline with numpy only: WordLlama's l2_supercat 256-d model.

WordLlama (github.com/dleemiller/WordLlama, MIT) embeds a text as the average of the
token embeddings of its Llama-2 tokens. Its wheel needs numpy >= 2, tokenizers and
pydantic, which Blender 4.2's Python cannot take, so this module reads the same two
files the wheel ships (``data/library/wordllama/``: the tokenizer's vocabulary and merges,
the float16 embedding table in safetensors) and reimplements the tokenizer (SentencePiece
BPE with byte fallback) and the pooling. tests/engine/library/test_embedding.py checks the
ids and vectors against the wordllama package's own output.
"""
import json
import os

import numpy as np

MODEL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "data", "library", "wordllama")
WORD_MARK = "\u2581"  # SentencePiece's space
UNKNOWN_ID = 0


def read_safetensors(path, key):
    """One tensor of a safetensors file as a numpy array (the format is a JSON header and raw bytes)."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        info = header[key]
        start, stop = info["data_offsets"]
        f.seek(8 + header_len + start)
        raw = f.read(stop - start)
    dtype = {"F16": np.float16, "F32": np.float32}[info["dtype"]]
    return np.frombuffer(raw, dtype=dtype).reshape(info["shape"])


class Tokenizer:
    """Llama-2's BPE as WordLlama configures it: prepend a space, spaces become the word
    mark, merges by rank, characters outside the vocabulary fall back to byte tokens."""

    def __init__(self, tokens, merges):
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self._cache = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(data["tokens"], data["merges"])

    def encode(self, text):
        """Token ids of ``text`` (no special tokens)."""
        if not text:
            return []  # the reference prepends its space only to a non-empty text
        normalized = WORD_MARK + text.replace(" ", WORD_MARK)
        ids = []
        for piece in _word_pieces(normalized):
            ids.extend(self._encode_piece(piece))
        return ids

    def _encode_piece(self, piece):
        cached = self._cache.get(piece)
        if cached is None:
            cached = self._cache[piece] = self._bpe(piece)
        return cached

    def _bpe(self, piece):
        symbols = list(piece)
        while len(symbols) > 1:
            pairs = [(self.ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            pairs = [p for p in pairs if p[0] is not None]
            if not pairs:
                break
            _, i = min(pairs)
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
        ids = []
        for s in symbols:
            if s in self.ids:
                ids.append(self.ids[s])
            else:  # byte fallback: one <0xXX> token per UTF-8 byte
                ids.extend(self.ids.get(f"<0x{b:02X}>", UNKNOWN_ID) for b in s.encode("utf-8"))
        return ids


def _word_pieces(normalized):
    """Split at each word mark that follows another character: no merge in the vocabulary
    joins across a word mark (checked when the files were extracted), so BPE per piece
    equals BPE over the whole text, and pieces repeat enough to cache."""
    pieces, start = [], 0
    for i in range(1, len(normalized)):
        if normalized[i] == WORD_MARK and normalized[i - 1] != WORD_MARK:
            pieces.append(normalized[start:i])
            start = i
    pieces.append(normalized[start:])
    return pieces


class TextEmbedder:
    """``embed(texts)`` -> (N, 256) float32 unit vectors; cosine similarity is a dot product."""

    def __init__(self, model_dir=MODEL_DIR):
        self.tokenizer = Tokenizer.load(os.path.join(model_dir, "tokenizer.json"))
        self.table = read_safetensors(os.path.join(model_dir, "l2_supercat_256.safetensors"), "embedding.weight")

    @property
    def dim(self):
        return self.table.shape[1]

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.tokenizer.encode(text)
            if ids:
                out[row] = self.table[ids].astype(np.float32).mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


_shared = {}


def shared_embedder():
    """One embedder per process: loading the table costs about 0.1 s and 16 MB."""
    if "embedder" not in _shared:
        _shared["embedder"] = TextEmbedder()
    return _shared["embedder"]
