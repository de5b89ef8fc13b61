"""Run GenMM (Li et al., SIGGRAPH 2023) once on one BVH clip; used by engine/eval/genmm.py.

Runs in GenMM's own interpreter (its checkout is not part of this repository and none of
its code is here: this script only imports and calls it), as

    GENMM_PYTHON tools/genmm_driver.py --genmm CHECKOUT --input CLIP.bvh --output OUT.bvh
        --info OUT.json --source-frames N --seed S [--up-axis Y_UP] [--device cpu]

It does what GenMM's run_random_generation.py does with configs/default.yaml (the
paper's random synthesis, no post-process), with two changes made here at run time, the
checkout left as fetched:

- ``GenMM.KEYFRAME_INDICES`` is undefined at GenMM's HEAD (upstream issue #18); it is
  set to an empty slice, which makes the key-frame copy in ``match_and_blend`` a no-op:
  the paper's behaviour.
- GenMM loads a clip faster than 30 fps at half or a quarter of its rate, and its BVH
  writer puts ``Frame Time: 1``; ``--source-frames`` is a length at the clip's own rate,
  turned here into frames at GenMM's rate, and the rate GenMM really used goes to the
  info JSON (with the joint names GenMM wrote, the frame count and the wall times).
"""
import argparse
import json
import math
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--genmm", required=True, help="GenMM's checkout (the folder with GenMM.py)")
    p.add_argument("--input", required=True, help="the example clip (.bvh)")
    p.add_argument("--output", required=True, help="the generated clip (.bvh, GenMM's writer)")
    p.add_argument("--info", required=True, help="a JSON file: frame times, names, frames, seconds")
    p.add_argument("--source-frames", type=int, required=True, help="length wanted, in frames at the clip's rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--up-axis", default="Y_UP", choices=["X_UP", "Y_UP", "Z_UP"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    root = os.path.abspath(args.genmm)
    sys.path.insert(0, root)  # GenMM's modules are top-level (GenMM, dataset, utils, nearest_neighbor)
    t_start = time.perf_counter()
    import torch  # GenMM's interpreter has it; this script never runs in the project's
    import yaml
    from dataset.bvh_motion import BVHMotion
    from GenMM import GenMM
    from nearest_neighbor.losses import PatchCoherentLoss
    from utils.base import set_seed

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if not hasattr(GenMM, "KEYFRAME_INDICES"):
        GenMM.KEYFRAME_INDICES = slice(0, 0)  # upstream issue #18: no key frames = the paper's method

    with open(os.path.join(root, "configs", "default.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["up_axis"] = args.up_axis
    set_seed(args.seed)
    t_load = time.perf_counter()
    data = BVHMotion(args.input, skeleton_name=cfg["skeleton_name"], repr=cfg["repr"], use_velo=cfg["use_velo"],
                     keep_up_pos=cfg["keep_up_pos"], up_axis=cfg["up_axis"], padding_last=cfg["padding_last"],
                     requires_contact=cfg["requires_contact"], joint_reduction=cfg["joint_reduction"])
    source_ft = float(data.raw_data.anim.frametime)
    genmm_ft = float(data.raw_data.frametime)
    frames = math.ceil((args.source_frames - 1) * source_ft / genmm_ft - 1e-6) + 1
    t_run = time.perf_counter()
    model = GenMM(device=args.device, silent=True)
    criteria = PatchCoherentLoss(patch_size=cfg["patch_size"], alpha=cfg["alpha"], loop=cfg["loop"], cache=True)
    syn = model.run([data], criteria, num_frames=str(frames), num_steps=cfg["num_steps"],
                    noise_sigma=cfg["noise_sigma"], patch_size=cfg["patch_size"],
                    coarse_ratio=cfg["coarse_ratio"], pyr_factor=cfg["pyr_factor"])
    t_done = time.perf_counter()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    data.write(args.output, syn)
    info = {"source_frame_time": source_ft, "genmm_frame_time": genmm_ft, "frames": int(syn.shape[-1]),
            "source_frames": args.source_frames, "names": list(data.raw_data.skeleton.names),
            "seed": args.seed, "device": args.device, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "config": cfg,
            "seconds": t_done - t_run, "load_seconds": t_run - t_load, "import_seconds": t_load - t_start}
    with open(args.info, "w") as f:
        json.dump(info, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
