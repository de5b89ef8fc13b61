"""Words of a description or a query, and BM25 over them (numpy only).

The scores are bm25s's defaults (github.com/xhluca/bm25s: Lucene's BM25, k1 1.5, b 0.75);
tests/engine/library/test_words.py checks them against the bm25s package. The add-on
carries this numpy version because it runs in Blender's Python with nothing installed.
"""
import re

import numpy as np

STOPWORDS = frozenset("""
a an and are as at be by for from has he her his in into is it its of on or she that the their them
then they this to was were will with person someone somebody man woman guy subject actor
""".split())
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ing", "ies", "es", "ed", "s")


def stem(word):
    """A light suffix stripper: jumps, jumping, jumped -> jump; punches -> punch; dies -> dy."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            root = word[: -len(suffix)]
            if suffix == "ies":
                return root + "y"
            if suffix == "es" and not root.endswith(("ch", "sh", "x", "ss")):
                return word[:-1]   # "dances" -> "dance", "punches" -> "punch"
            if suffix in ("ing", "ed") and len(root) > 3 and root[-1] == root[-2] and root[-1] not in "ls":
                root = root[:-1]   # "running" -> "run", "hopped" -> "hop"
            return root
    return word


def words(text):
    """Lower-case stemmed words, without stopwords and single characters."""
    return [stem(w) for w in _WORD.findall(text.lower().replace("_", " ")) if len(w) > 1 and w not in STOPWORDS]


class BM25:
    """Lucene BM25 over tokenized documents: ``scores(query_words)`` -> (N,)."""

    def __init__(self, documents, k1=1.5, b=0.75):
        self.k1, self.b = k1, b
        self.vocab = {}
        rows, cols, counts = [], [], []
        for d, doc in enumerate(documents):
            tf = {}
            for w in doc:
                tf[w] = tf.get(w, 0) + 1
            for w, c in tf.items():
                rows.append(d)
                cols.append(self.vocab.setdefault(w, len(self.vocab)))
                counts.append(c)
        n = len(documents)
        lengths = np.array([len(doc) for doc in documents], dtype=np.float64)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        self._rows = np.array(rows, dtype=np.int64)
        self._cols = np.array(cols, dtype=np.int64)
        tf = np.array(counts, dtype=np.float64)
        df = np.bincount(self._cols, minlength=len(self.vocab)).astype(np.float64)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * lengths[self._rows] / avg) if n else tf
        self._weights = idf[self._cols] * tf / (tf + norm)  # Lucene 8+: no (k1 + 1) factor
        self.num_documents = n

    def scores(self, query_words):
        out = np.zeros(self.num_documents)
        for w in query_words:  # a repeated word counts again, as in bm25s
            col = self.vocab.get(w)
            if col is not None:
                hit = self._cols == col
                out[self._rows[hit]] += self._weights[hit]
        return out
