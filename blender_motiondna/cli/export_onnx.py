"""``motiondna export-onnx``: a generator's streaming step and planner as ONNX models, for
game engines and phones (engine/export/onnx_step.py; played by tools/onnx_player.py)."""
import numpy as np

from ...engine.export import onnx_step
from ...engine.generator.runtime import Generator
from .common import UsageError, need_file, output_file


def add_parser(subparsers):
    e = subparsers.add_parser("export-onnx", help="a generator's streaming step as ONNX models",
                              description="Write GENERATOR's streaming step (one frame a call) to OUT and its "
                                          "planner (the transition a target asks for) to OUT with .decide.onnx; "
                                          "any ONNX runtime plays them, tools/onnx_player.py shows how "
                                          "(docs/formats.md). Needs the onnx package.")
    e.add_argument("generator", metavar="GENERATOR", help="generator file (.mdna)")
    e.add_argument("--out", required=True, help="the step model (.onnx); the planner goes beside it")
    e.add_argument("--float64", action="store_true", help="double precision (default float32, which phones "
                                                          "run; float64 decides exactly as the numpy stream)")
    e.add_argument("--start", type=int, default=0, help="the clip frame the model's start cursor plays (default 0)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    return e


def run(args):
    if not args.out.lower().endswith(".onnx"):
        raise UsageError(f"--out {args.out}: the step model's name ends in .onnx")
    out = output_file(args.out, generator=args.generator)
    generator = Generator.load(need_file(args.generator, "generator file"))
    if not 0 <= args.start < generator.num_frames:
        raise ValueError(f"--start must be a clip frame 0..{generator.num_frames - 1}, not {args.start}")
    try:
        info = onnx_step.export(generator, out, start=args.start, dtype=np.float64 if args.float64 else np.float32)
    except ModuleNotFoundError as e:
        raise ValueError(f"the ONNX export needs the {e.name} package (pip install onnx)") from None
    info["dtype"] = "float64" if args.float64 else "float32"
    message = (f"{info['step']} ({info['step_bytes'] / 1024:.0f} KB, the step) and {info['decide']} "
               f"({info['decide_bytes'] / 1024:.0f} KB, the planner), {info['dtype']}")
    return info, message
