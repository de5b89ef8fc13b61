"""A motion library index: one entry per clip (file, frames, fps, rig, joints, duration,
description, motion features) and one text embedding per entry, kept up to date
incrementally.

On disk an index is ``NAME.json`` (the entries) and ``NAME.npy`` (float16 embeddings, one
row per entry, in entry order; no pickle). ``update_index`` re-reads only clips whose size
or modification time changed and re-embeds only descriptions that changed.

Descriptions come, first found, from a sidecar next to the clip (``descriptions.csv`` with
columns ``file,description``, or ``descriptions.json`` ``{file: description}``), from the
CMU trial index when the file is named like a CMU trial (``02_05.bvh``, ``002_05_...``)
on a CMU rig, else from the file name ("walk_fast_02.bvh" -> "walk fast").
"""
import csv
import hashlib
import json
import os
import re
import time

import numpy as np

from ..io import atomic
from . import clips, embedding

INDEX_VERSION = 1
MODEL_NAME = "wordllama-l2_supercat-256"
DATA_DIR = os.path.dirname(embedding.MODEL_DIR)
CMU_TRIALS = os.path.join(DATA_DIR, "cmu_trials.csv")
CMU_URL = "http://mocap.cs.cmu.edu/search.php?subjectnumber={subject}"
SIDECARS = ("descriptions.csv", "descriptions.json")
_TRIAL_NAME = re.compile(r"^0*(\d{1,3})_0*(\d{1,2})(?:[_\-. ]|$)")


class Index:
    """Entries (dicts) and their embeddings (N, D) float32 unit rows."""

    def __init__(self, entries=(), embeddings=None):
        self.entries = list(entries)
        self.embeddings = (np.zeros((0, 256), np.float32) if embeddings is None
                           else np.asarray(embeddings, dtype=np.float32))

    def __len__(self):
        return len(self.entries)

    def save(self, path):
        """Write ``path`` (.json) and its .npy beside it, each atomically."""
        path = _json_path(path)
        doc = {"version": INDEX_VERSION, "model": MODEL_NAME, "entries": self.entries}
        atomic.write_text(path, json.dumps(doc, indent=1, ensure_ascii=False))
        with atomic.replacing(_npy_path(path)) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, self.embeddings.astype(np.float16), allow_pickle=False)

    @classmethod
    def load(cls, path):
        path = _json_path(path)
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except OSError as exc:
            raise ValueError(f"cannot read the library index {path} ({exc.strerror or exc})") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not a library index ({exc})") from None
        if doc.get("version") != INDEX_VERSION or doc.get("model") != MODEL_NAME:
            raise ValueError(f"{path}: index version {doc.get('version')} / model {doc.get('model')}; "
                             f"this add-on reads version {INDEX_VERSION} / {MODEL_NAME} (rebuild it)")
        emb = np.load(_npy_path(path), allow_pickle=False).astype(np.float32)
        if emb.shape[0] != len(doc["entries"]):
            raise ValueError(f"{path}: {len(doc['entries'])} entries but {emb.shape[0]} embeddings (rebuild it)")
        folder = os.path.dirname(os.path.abspath(path))
        for e in doc["entries"]:  # a shipped index keeps paths relative to its own folder
            if e.get("path") and not os.path.isabs(e["path"]):
                e["path"] = os.path.normpath(os.path.join(folder, e["path"]))
                e["id"] = e["path"]
        return cls(doc["entries"], emb)

    def merged(self, other):
        return Index(self.entries + other.entries, np.concatenate([self.embeddings, other.embeddings]))


def relative_to(index, base):
    """A copy whose file paths are relative to ``base`` (an index that ships with its clips)."""
    entries = []
    for e in index.entries:
        e = dict(e)
        if e.get("path"):
            e["path"] = e["id"] = os.path.relpath(e["path"], base).replace(os.sep, "/")
        entries.append(e)
    return Index(entries, index.embeddings)


def _json_path(path):
    path = os.fspath(path)
    return path if path.lower().endswith(".json") else path + ".json"


def _npy_path(json_path):
    return json_path[:-5] + ".npy"


# ---------------------------------------------------------------------------------------
# descriptions

def description_from_name(path):
    """'walk_fast_02.bvh' -> 'walk fast'; '002_05_punch_strike.bvh.gz' -> 'punch strike'."""
    stem = os.path.basename(path)
    for suffix in clips.CLIP_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem).replace("_", " ").replace("-", " ").split()
    kept = [re.sub(r"\d+$", "", w) for w in words if not w.isdigit() and not re.fullmatch(r"f\d+", w)]
    kept = [w for w in kept if w]
    return " ".join(kept).lower() or stem


def read_sidecar(folder):
    """{file name: description} from the folder's descriptions.csv or .json ({} when none)."""
    out = {}
    csv_path = os.path.join(folder, "descriptions.csv")
    if os.path.isfile(csv_path):
        with open(csv_path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("file") and row.get("description"):
                    out[row["file"].strip()] = row["description"].strip()
    json_path = os.path.join(folder, "descriptions.json")
    if os.path.isfile(json_path):
        with open(json_path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{json_path}: expected an object {{file: description}}")
        out.update({str(k): str(v) for k, v in data.items()})
    return out


def _sidecar_stamp(folder):
    """Sidecar sizes and times: a changed sidecar re-describes its folder's clips."""
    stamp = []
    for name in SIDECARS:
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            st = os.stat(p)
            stamp.append([name, st.st_size, st.st_mtime_ns])
    return stamp


def read_cmu_trials(path=CMU_TRIALS):
    """The CMU index: [{"trial": "02_05", "subject", "description", "duration"}, ...]
    (duration in seconds, None where the index does not give the frame count)."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.append({"trial": row["trial"], "subject": int(row["subject"]), "description": row["description"],
                        "duration": float(row["duration"]) if row["duration"] else None})
    return out


_cmu_cache = {}


def cmu_description(path, rig):
    """The CMU trial description for a file named like a trial on a CMU rig, else None."""
    trial = trial_of(path)
    if not trial or rig not in ("cmu", "cmu_3dsmax", "cc_iclone"):
        return None
    if "by_trial" not in _cmu_cache:
        _cmu_cache["by_trial"] = {t["trial"]: t["description"] for t in read_cmu_trials()}
    return _cmu_cache["by_trial"].get(trial)


def text_key(description):
    return hashlib.sha1(description.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# building and updating

def find_clip_files(paths, suffixes=clips.CLIP_SUFFIXES):
    """Clip files under the given files or folders, sorted, each once."""
    found = set()

    def wanted(name):
        return name.lower().endswith(tuple(suffixes))

    for p in paths:
        p = os.path.abspath(os.fspath(p))
        if os.path.isfile(p):
            if wanted(p):
                found.add(p)
        elif os.path.isdir(p):
            for d, dirs, files in os.walk(p):
                dirs[:] = sorted(x for x in dirs if not x.startswith("."))
                found.update(os.path.join(d, f) for f in files if wanted(f))
        else:
            raise ValueError(f"no such file or folder: {p}")
    return sorted(found)


def file_entry(path, sidecars, readers=None):
    """The index entry of one clip file (reads the clip; ``readers``: {suffix: path -> Motion}
    for files the engine cannot read itself, such as FBX and glTF through Blender)."""
    st = os.stat(path)
    reader = next((r for suffix, r in (readers or {}).items() if path.lower().endswith(suffix)), clips.read_clip)
    motion = reader(path)
    entry = {"id": path, "kind": "file", "path": path, "file_size": st.st_size, "file_mtime_ns": st.st_mtime_ns,
             "sidecar": _sidecar_stamp(os.path.dirname(path))}
    entry.update(clips.motion_features(motion))
    described = sidecars.get(os.path.basename(path))
    if described:
        entry["description"], entry["description_source"] = described, "sidecar"
    else:
        cmu = cmu_description(path, entry["rig"])
        if cmu:
            entry["description"], entry["description_source"] = cmu, "cmu index"
        else:
            entry["description"], entry["description_source"] = description_from_name(path), "file name"
    entry["text_key"] = text_key(entry["description"])
    trial = trial_of(path)
    if trial:
        entry["trial"] = trial
    return entry


def trial_of(path):
    """'02_05' for files named like a CMU trial ('02_05.bvh', '002_05_punch.bvh.gz'), else None."""
    m = _TRIAL_NAME.match(os.path.basename(path))
    return f"{int(m.group(1)):02d}_{int(m.group(2)):02d}" if m else None


def _is_current(entry, path):
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (entry.get("file_size") == st.st_size and entry.get("file_mtime_ns") == st.st_mtime_ns
            and entry.get("sidecar") == _sidecar_stamp(os.path.dirname(path)))


def update_index(paths, previous=None, embedder=None, progress=None, should_stop=None, readers=None):
    """An Index of the clips under ``paths``, reusing ``previous``'s entries and embeddings
    for files that did not change. Unreadable clips are skipped and listed in
    ``index.skipped`` as (path, reason). ``readers``: {suffix: path -> Motion} for more
    file types (the Blender side adds FBX and glTF). Returns (index, stats) with stats:
    read, reused, embedded, skipped, seconds."""
    t0 = time.perf_counter()
    files = find_clip_files(paths, clips.CLIP_SUFFIXES + tuple(readers or ()))
    old = {}
    if previous is not None:
        old = {e["path"]: (e, previous.embeddings[i]) for i, e in enumerate(previous.entries) if e.get("kind") == "file"}
    embeddings_by_key = {}
    if previous is not None:
        embeddings_by_key = {e["text_key"]: previous.embeddings[i] for i, e in enumerate(previous.entries)}
    sidecars, entries, skipped = {}, [], []
    reused = 0
    for n, path in enumerate(files):
        if should_stop is not None and should_stop():
            raise InterruptedError("indexing cancelled")
        if progress is not None:
            progress(n / max(len(files), 1), os.path.basename(path))
        if path in old and _is_current(old[path][0], path):
            entries.append(old[path][0])
            reused += 1
            continue
        folder = os.path.dirname(path)
        if folder not in sidecars:
            sidecars[folder] = read_sidecar(folder)
        try:
            entries.append(file_entry(path, sidecars[folder], readers))
        except (ValueError, OSError) as exc:
            skipped.append((path, str(exc)))
    index, embedded = with_embeddings(entries, embeddings_by_key, embedder)
    index.skipped = skipped
    stats = {"files": len(files), "read": len(files) - reused - len(skipped), "reused": reused,
             "embedded": embedded, "skipped": len(skipped), "seconds": round(time.perf_counter() - t0, 3)}
    return index, stats


def with_embeddings(entries, known=None, embedder=None):
    """An Index of ``entries`` whose embeddings come from ``known`` {text_key: vector} or are
    computed; returns (index, how many descriptions were embedded)."""
    known = known or {}
    missing = sorted({e["text_key"]: e["description"] for e in entries if e["text_key"] not in known}.items())
    if missing:
        embedder = embedder or embedding.shared_embedder()
        vectors = embedder.embed([d for _, d in missing])
        known = dict(known)
        known.update({k: v for (k, _), v in zip(missing, vectors)})
    emb = np.array([known[e["text_key"]] for e in entries], dtype=np.float32).reshape(len(entries), -1)
    if not entries:
        emb = np.zeros((0, 256), np.float32)
    return Index(entries, emb), len(missing)


def trial_entries(trials=None):
    """Entries for the CMU trials (no file: ``fetch`` says where to get each one)."""
    trials = read_cmu_trials() if trials is None else trials
    out = []
    for t in trials:
        out.append({"id": "cmu:" + t["trial"], "kind": "trial", "path": None, "trial": t["trial"],
                    "description": t["description"], "description_source": "cmu index", "rig": "cmu",
                    "duration": t["duration"], "fetch": CMU_URL.format(subject=t["subject"]),
                    "text_key": text_key(t["description"])})
    return out


def trial_index(embedder=None, exclude=()):
    """The CMU trials as an index, without the trials in ``exclude`` (those a library has as files)."""
    exclude = set(exclude)
    index, _ = with_embeddings([e for e in trial_entries() if e["trial"] not in exclude], {}, embedder)
    return index


def with_trials(library, embedder=None):
    """``library`` plus the CMU trials it does not hold as files: a search also names trials to fetch."""
    held = {e.get("trial") for e in library.entries if e.get("kind") == "file"}
    return library.merged(trial_index(embedder, held - {None}))
