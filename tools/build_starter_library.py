"""Builds the starter motion library in data/library/starter/ from CMU BVH files.

    python tools/build_starter_library.py SOURCE_DIR

SOURCE_DIR holds the CMU trials as BVH (the files of DragonForgedTheArtist/IClone-CMU-Mocap,
``All_BVH/subjects/*/*.bvh``: CMU's AMC data converted one to one to BVH on the Character
Creator rig, 60 fps; any folder with files named ``SSS_TT.bvh`` works). Each chosen trial is
trimmed to its busiest ``MAX_SECONDS`` (the stretch where the joints move most: the
described action rather than the standing at either end), resampled to 30 fps, written
with two decimals and gzipped, and described by CMU's own trial description. The bundled
data/jumping_jacks.bvh (CMU 14_14) joins them. Then the index data/library/starter.json /
.npy is rebuilt (paths relative to data/library/).
"""
import csv
import gzip
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from blender_motiondna.bootstrap import load_extension_package  # noqa: E402

load_extension_package()
from motiondna.engine.io import bvh  # noqa: E402
from motiondna.engine.library import index as library_index  # noqa: E402

STARTER = os.path.join(ROOT, "data", "library", "starter")
MAX_SECONDS = 8.0
TARGET_FPS = 30.0
TRIALS = {  # trial: short name (the category is for data/README.md)
    "locomotion": ["02_01", "02_03", "03_01", "06_01", "07_01", "07_04", "07_12"],
    "jumps": ["01_01", "01_14", "02_04"],
    "fights": ["02_05", "02_07", "02_08", "02_09"],
    "everyday": ["01_08", "02_06", "02_10"],
    "sports": ["06_02", "06_04", "06_06", "06_07", "06_08", "06_10", "06_11", "06_12", "06_14", "06_15"],
    "dance": ["05_02", "05_03", "05_04", "05_05", "05_06", "05_07", "05_08", "05_09", "05_10", "05_11",
              "05_12", "05_13", "05_14", "05_15", "05_16", "05_17", "05_18", "05_19", "05_20"],
}


def busiest_window(motion, frames):
    """First frame of the ``frames``-long stretch where the joints move most."""
    if motion.num_frames <= frames:
        return 0
    p = motion.positions()
    p = p - p[:, motion.skeleton.root:motion.skeleton.root + 1]
    speed = np.linalg.norm(np.diff(p, axis=0), axis=-1).sum(axis=1)
    speed = np.concatenate([[0.0], speed])
    window = np.convolve(speed, np.ones(frames), mode="valid")
    return int(np.argmax(window))


def header_text(path):
    """The file's hierarchy, verbatim, up to and including the MOTION line."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            out.append(line.rstrip("\r\n"))
            if line.strip().upper() == "MOTION":
                break
    return "\n".join(out) + "\n"


def write_trimmed(src, dst):
    parsed = bvh.read_bvh(src)
    fps = 1.0 / parsed.frame_time
    step = max(int(round(fps / TARGET_FPS)), 1)
    motion = parsed.to_motion()
    length = int(MAX_SECONDS * fps)
    start = busiest_window(motion, length)
    rows = parsed.frames[start:start + length:step]
    with gzip.open(dst, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(header_text(src))
        f.write(f"Frames: {len(rows)}\nFrame Time: {parsed.frame_time * step:.7g}\n")
        np.savetxt(f, np.round(rows, 2) + 0.0, fmt="%.2f", delimiter=" ")
    return start, len(rows)


def main(source_dir):
    os.makedirs(STARTER, exist_ok=True)
    trials = {t["trial"]: t for t in library_index.read_cmu_trials()}
    rows = []
    for category, names in TRIALS.items():
        for trial in names:
            subject, take = trial.split("_")
            src = os.path.join(source_dir, f"{int(subject):03d}_{take}.bvh")
            name = f"{trial}.bvh.gz"
            start, n = write_trimmed(src, os.path.join(STARTER, name))
            rows.append({"file": name, "description": trials[trial]["description"], "category": category,
                         "trial": trial, "source_frames": f"{start}+{n}x"})
            print(f"{trial:6s} {category:10s} {n:4d} frames  {trials[trial]['description']}")
    jj = os.path.join(STARTER, "14_14_jumping_jacks.bvh.gz")
    with open(os.path.join(ROOT, "data", "jumping_jacks.bvh"), "rb") as f, gzip.open(jj, "wb", compresslevel=9) as g:
        g.write(f.read())
    rows.append({"file": os.path.basename(jj), "description": "jumping jacks (exercise)", "category": "exercise",
                 "trial": "14_14", "source_frames": "0-499 every 4th (data/README.md)"})
    with open(os.path.join(STARTER, "descriptions.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["file", "description", "category", "trial", "source_frames"])
        w.writeheader()
        w.writerows(rows)
    built, stats = library_index.update_index([STARTER])
    library_index.relative_to(built, os.path.dirname(STARTER)).save(os.path.join(os.path.dirname(STARTER), "starter.json"))
    print(stats)


if __name__ == "__main__":
    main(sys.argv[1])
