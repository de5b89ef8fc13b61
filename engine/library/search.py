"""Ranking library entries for a text prompt: text embedding and BM25, with filters.

score = TEXT_WEIGHT * cosine(prompt, description) + (1 - TEXT_WEIGHT) * BM25 / max BM25.
The embedding finds paraphrases ("a boxer throws punches" -> "punch/strike"); BM25 keeps
exact words decisive ("jumping jacks" ranks the trials that say so above "jumps").
The measured effect of each part: docs/library.md.
"""
from dataclasses import dataclass, field

import numpy as np

from . import embedding, words

TEXT_WEIGHT = 0.5


@dataclass
class Filters:
    """Entries outside a range are dropped; None leaves that end open."""
    min_duration: float = None
    max_duration: float = None
    rigs: tuple = ()              # rig preset names; empty: any
    min_travel: float = None      # metres from the first to the last frame
    max_travel: float = None
    files_only: bool = False      # drop CMU trials that have no file here

    def keep(self, entry):
        if self.files_only and entry.get("kind") != "file":
            return False
        if self.rigs and entry.get("rig") not in self.rigs:
            return False
        d = entry.get("duration")
        if (self.min_duration is not None or self.max_duration is not None) and d is None:
            return False
        if self.min_duration is not None and d < self.min_duration:
            return False
        if self.max_duration is not None and d > self.max_duration:
            return False
        t = entry.get("travel")
        if (self.min_travel is not None or self.max_travel is not None) and t is None:
            return False
        if self.min_travel is not None and t < self.min_travel:
            return False
        if self.max_travel is not None and t > self.max_travel:
            return False
        return True


@dataclass
class Result:
    entry: dict
    score: float
    text_score: float
    word_score: float
    rank: int = 0
    extra: dict = field(default_factory=dict)


class Searcher:
    """Holds an index with its BM25 table so that many queries cost one embedding each."""

    def __init__(self, index, embedder=None, text_weight=TEXT_WEIGHT):
        self.index = index
        self.embedder = embedder
        self.text_weight = text_weight
        self.bm25 = words.BM25([words.words(e["description"]) for e in index.entries])

    def scores(self, query):
        """(combined, cosine, normalized BM25) arrays over all entries."""
        embedder = self.embedder or embedding.shared_embedder()
        q = embedder.embed([query])[0]
        cos = self.index.embeddings @ q if len(self.index) else np.zeros(0)
        bm = self.bm25.scores(words.words(query))
        top = bm.max() if bm.size else 0.0
        bm = bm / top if top > 0 else bm
        return self.text_weight * cos + (1.0 - self.text_weight) * bm, cos, bm

    def search(self, query, top=10, filters=None):
        """The best ``top`` entries that pass ``filters``, best first. Ties keep index order."""
        if not query or not query.strip():
            raise ValueError("the search prompt is empty")
        combined, cos, bm = self.scores(query)
        keep = np.array([filters.keep(e) for e in self.index.entries], dtype=bool) if filters else \
            np.ones(len(self.index), dtype=bool)
        order = [i for i in np.argsort(-combined, kind="stable") if keep[i]][:max(int(top), 0)]
        return [Result(self.index.entries[i], float(combined[i]), float(cos[i]), float(bm[i]), rank + 1)
                for rank, i in enumerate(order)]


def search(index, query, top=10, filters=None, embedder=None):
    return Searcher(index, embedder).search(query, top, filters)
