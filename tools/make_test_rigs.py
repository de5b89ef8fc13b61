"""Writes data/library/rigs/mixamo_style.bvh: a one-frame rig with Mixamo's bone names in an
A-pose (arms 45 degrees down), Y up, centimetres, 1.8 m tall, with longer legs and shorter
arms than CMU's actors: the "different rig" the retargeting is tested and measured on.

    python tools/make_test_rigs.py
"""
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")
DOWN = math.radians(45.0)


def arm(side):
    x = 1.0 if side == "Left" else -1.0   # the rig faces +Z: its left is +X
    d = (x * math.cos(DOWN), -math.sin(DOWN), 0.0)
    return [(f"mixamorig:{side}Shoulder", (x * 6.0, 11.0, 0.0)), (f"mixamorig:{side}Arm", (x * 12.0, 0.0, 0.0)),
            (f"mixamorig:{side}ForeArm", tuple(26.0 * v for v in d)), (f"mixamorig:{side}Hand", tuple(24.0 * v for v in d))], \
        tuple(9.0 * v for v in d)


def leg(side):
    x = 1.0 if side == "Left" else -1.0
    return [(f"mixamorig:{side}UpLeg", (x * 9.5, -6.0, 0.0)), (f"mixamorig:{side}Leg", (0.0, -47.0, 0.0)),
            (f"mixamorig:{side}Foot", (0.0, -45.0, 0.0)), (f"mixamorig:{side}ToeBase", (0.0, -7.0, 13.0))], (0.0, 0.0, 8.0)


def emit_chain(lines, chain, end, depth):
    for name, off in chain:
        pad = "\t" * depth
        lines += [f"{pad}JOINT {name}", pad + "{", f"{pad}\tOFFSET {off[0]:.4f} {off[1]:.4f} {off[2]:.4f}",
                  f"{pad}\tCHANNELS 3 Zrotation Xrotation Yrotation"]
        depth += 1
    pad = "\t" * depth
    lines += [f"{pad}End Site", pad + "{", f"{pad}\tOFFSET {end[0]:.4f} {end[1]:.4f} {end[2]:.4f}", pad + "}"]
    for d in range(depth - 1, depth - 1 - len(chain), -1):
        lines.append("\t" * d + "}")


def main():
    lines = ["HIERARCHY", "ROOT mixamorig:Hips", "{", "\tOFFSET 0.0000 104.0000 0.0000",
             "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    spine = [("mixamorig:Spine", (0.0, 10.0, 0.0)), ("mixamorig:Spine1", (0.0, 12.0, 0.0)),
             ("mixamorig:Spine2", (0.0, 13.0, 0.0))]
    for depth, (name, off) in enumerate(spine, start=1):
        pad = "\t" * depth
        lines += [f"{pad}JOINT {name}", pad + "{", f"{pad}\tOFFSET {off[0]:.4f} {off[1]:.4f} {off[2]:.4f}",
                  f"{pad}\tCHANNELS 3 Zrotation Xrotation Yrotation"]
    emit_chain(lines, [("mixamorig:Neck", (0.0, 16.0, 0.0)), ("mixamorig:Head", (0.0, 10.0, 2.0))], (0.0, 19.0, 0.0), 4)
    for side in ("Left", "Right"):
        chain, end = arm(side)
        emit_chain(lines, chain, end, 4)
    for depth in range(3, 0, -1):
        lines.append("\t" * depth + "}")
    for side in ("Left", "Right"):
        chain, end = leg(side)
        emit_chain(lines, chain, end, 1)
    lines.append("}")
    channels = 6 + 3 * (3 + 2 + 2 * 4 + 2 * 4)
    lines += ["MOTION", "Frames: 1", "Frame Time: 0.0333333", " ".join(["0.0000", "104.0000"] + ["0.0000"] * (channels - 2))]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
