"""Retrieval quality and speed of the library search (docs/library.md).

    python -m engine.eval.library_search [--speed-clips N] [--out out/library_benchmark.json]

Quality: each query in ``QUERIES`` is a prompt as a user would type it, with the patterns
that make a CMU trial description relevant (all must match, case-insensitive). The corpus
is the full CMU index (2,435 trials), ranked by the embedding alone, BM25 alone and the
combination the add-on uses; precision@5 and MRR (reciprocal rank of the first relevant
trial) are averaged over the queries. The patterns were written from the prompts, before
any ranking was looked at, and are not tuned afterwards.

Speed: embedding the 2,435 descriptions, one query over them, and ``update_index`` over
N clip files (copies of the starter library under new names: the reading and the features
are what cost) built from scratch and then re-run with nothing changed.
"""
import argparse
import json
import os
import re
import shutil
import tempfile
import time

import numpy as np

from ..library import embedding, search
from ..library import index as library_index

QUERIES = [
    ("jumping jacks", [r"jumping jack"]),
    ("a boxer throws punches", [r"box(ing|er)\b|punch"]),
    ("a person jumps over an obstacle", [r"jump(s|ing)? over|hurdle|leap over|jump over"]),
    ("dribbling a basketball", [r"dribbl"]),
    ("shooting a basketball", [r"basketball|lay-?up|free throw", r"shoot|shot|lay-?up|throw"]),
    ("a couple dancing salsa", [r"salsa"]),
    ("a ballet dancer does a pirouette", [r"pirouette"]),
    ("someone swimming breaststroke", [r"breast ?stroke|swim"]),
    ("kicking a soccer ball", [r"soccer|kick(s|ing)? (a |the )?ball"]),
    ("a golfer putts", [r"golf|putt"]),
    ("walking up the stairs", [r"stair|steps? up|step(s|ping)? up|climb \d+ steps"]),
    ("sitting down on a chair and standing up again", [r"\bsit", r"stand|rise|get up|getting up"]),
    ("doing a cartwheel", [r"cartwheel"]),
    ("running and then stopping", [r"\brun", r"stop"]),
    ("walking backwards", [r"backward"]),
    ("limping with an injured leg", [r"limp|wound|injur|hurt"]),
    ("sneaking quietly", [r"sneak|tiptoe|stealth"]),
    ("climbing a ladder", [r"ladder"]),
    ("sword fighting", [r"sword"]),
    ("picking up a heavy box", [r"\bbox(es)?\b(?!ing)", r"pick|lift|carry"]),
    ("washing windows", [r"window"]),
    ("sweeping the floor", [r"sweep"]),
    ("doing yoga", [r"yoga"]),
    ("stretching before exercise", [r"stretch"]),
    ("acting like a chicken", [r"chicken"]),
    ("moving like a monkey", [r"monkey"]),
    ("directing traffic", [r"traffic"]),
    ("soldiers marching", [r"march"]),
    ("carrying a suitcase", [r"suitcase"]),
    ("a long jump forward", [r"(long|forward|broad) ?jump|jump ?forward"]),
    ("hopping on one leg", [r"\bhop"]),
    ("waving hello", [r"wav(e|ing)"]),
    ("drinking from a cup", [r"drink"]),
    ("riding a motorcycle", [r"motorcycle"]),
    ("laughing", [r"laugh"]),
    ("a slow walk", [r"slow ?walk|walk(ing)? slow"]),
]
TOP = 5
# Prompts for the starter library (files only): the trials a right first answer may be.
STARTER_QUERIES = [
    ("jumping jacks", {"14_14"}),
    ("a boxer throws punches", {"02_05"}),
    ("sword fight", {"02_07", "02_08", "02_09"}),
    ("dribbling a basketball", {"06_02", "06_04", "06_06", "06_07", "06_08", "06_10", "06_11", "06_12", "06_14",
                                "06_15"}),
    ("a basketball player shoots", {"06_14", "06_15"}),
    ("a ballet dancer pirouettes", {"05_02", "05_06", "05_07", "05_11", "05_13"}),
    ("modern dance with arabesques", {"05_03", "05_04", "05_07", "05_09", "05_10", "05_14", "05_15", "05_18",
                                      "05_19", "05_20"}),
    ("someone walking slowly", {"07_04"}),
    ("jogging", {"02_03"}),
    ("walking on rough ground", {"03_01"}),
    ("a person washes himself", {"02_10"}),
    ("children's playground climbing", {"01_08", "01_14"}),
    ("jump and keep your balance", {"02_04"}),
    ("bend down and pick something up", {"02_06"}),
    ("a brisk walk", {"07_12"}),
]


def relevant(description, patterns):
    return all(re.search(p, description, re.I) for p in patterns)


def rank_metrics(order, is_relevant):
    """precision@TOP and reciprocal rank of the first relevant entry in ``order``."""
    hits = [bool(is_relevant[i]) for i in order]
    p5 = sum(hits[:TOP]) / TOP
    first = next((k for k, h in enumerate(hits) if h), None)
    return p5, (1.0 / (first + 1) if first is not None else 0.0)


def quality(trials_index, embedder):
    searcher = search.Searcher(trials_index, embedder)
    descriptions = [e["description"] for e in trials_index.entries]
    modes = {"embedding": 1.0, "bm25": 0.0, "combined": search.TEXT_WEIGHT}
    out = {m: {"p5": [], "mrr": []} for m in modes}
    per_query = []
    for prompt, patterns in QUERIES:
        rel = np.array([relevant(d, patterns) for d in descriptions])
        _, cos, bm = searcher.scores(prompt)
        row = {"query": prompt, "relevant": int(rel.sum())}
        for mode, w in modes.items():
            order = np.argsort(-(w * cos + (1 - w) * bm), kind="stable")
            p5, rr = rank_metrics(order, rel)
            out[mode]["p5"].append(p5)
            out[mode]["mrr"].append(rr)
            row[mode] = {"p5": p5, "rr": round(rr, 3)}
        per_query.append(row)
    summary = {m: {"precision@5": round(float(np.mean(v["p5"])), 3), "mrr": round(float(np.mean(v["mrr"])), 3)}
               for m, v in out.items()}
    return summary, per_query


def starter_quality(embedder):
    """Top-1 hit rate of the starter library (files only) for STARTER_QUERIES."""
    starter = library_index.Index.load(os.path.join(library_index.DATA_DIR, "starter.json"))
    searcher = search.Searcher(starter, embedder)
    rows = []
    for prompt, trials in STARTER_QUERIES:
        top = searcher.search(prompt, top=1)[0].entry
        rows.append({"query": prompt, "top": top.get("trial"), "description": top["description"],
                     "hit": top.get("trial") in trials})
    return {"queries": len(rows), "top1": round(sum(r["hit"] for r in rows) / len(rows), 3)}, rows


def speed(embedder, speed_clips):
    trials = library_index.trial_entries()
    texts = [t["description"] for t in trials]
    t0 = time.perf_counter()
    fresh = embedding.TextEmbedder()
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    fresh.embed(texts)
    t_embed = time.perf_counter() - t0
    idx = library_index.trial_index(embedder)
    t0 = time.perf_counter()
    searcher = search.Searcher(idx, embedder)
    t_bm25 = time.perf_counter() - t0
    times = []
    for prompt, _ in QUERIES:
        t0 = time.perf_counter()
        searcher.search(prompt, top=10, filters=search.Filters(max_duration=30))
        times.append(time.perf_counter() - t0)
    out = {"entries": len(idx), "model_load_s": round(t_load, 3), "embed_all_s": round(t_embed, 3),
           "bm25_table_s": round(t_bm25, 3), "query_median_ms": round(1000 * float(np.median(times)), 2),
           "query_max_ms": round(1000 * float(np.max(times)), 2)}
    if speed_clips:
        out.update(index_speed(speed_clips, embedder))
    return out


def index_speed(count, embedder):
    """update_index over ``count`` clip files, from scratch and again with nothing changed."""
    starter = os.path.join(library_index.DATA_DIR, "starter")
    sources = sorted(f for f in os.listdir(starter) if f.endswith(".bvh.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(count):
            shutil.copy(os.path.join(starter, sources[k % len(sources)]), os.path.join(tmp, f"clip_{k:05d}.bvh.gz"))
        t0 = time.perf_counter()
        idx, stats = library_index.update_index([tmp], embedder=embedder)
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, again = library_index.update_index([tmp], previous=idx, embedder=embedder)
        t_again = time.perf_counter() - t0
    return {"index_files": count, "index_build_s": round(t_full, 2), "index_build_per_clip_ms": round(1000 * t_full / count, 1),
            "index_unchanged_update_s": round(t_again, 3), "index_reused": again["reused"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed-clips", type=int, default=0, help="also time update_index over this many clip files")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    embedder = embedding.shared_embedder()
    summary, per_query = quality(library_index.trial_index(embedder), embedder)
    starter, starter_rows = starter_quality(embedder)
    result = {"queries": len(QUERIES), "quality": summary, "per_query": per_query, "starter": starter,
              "starter_rows": starter_rows, "speed": speed(embedder, args.speed_clips)}
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_query", "starter_rows")}, indent=1))
    for row in per_query:
        print(f"{row['query'][:44]:44s} rel {row['relevant']:4d}  "
              + "  ".join(f"{m} p5 {row[m]['p5']:.1f} rr {row[m]['rr']:.2f}" for m in ("embedding", "bm25", "combined")))
    for row in starter_rows:
        print(f"starter: {row['query'][:40]:40s} -> {row['top']} {row['description'][:50]}  {'hit' if row['hit'] else 'MISS'}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
