"""``motiondna export``: a generator's network as ONNX, through the engine worker."""
import time

from .. import api
from .common import UsageError, need_file, output_file


def add_parser(subparsers):
    e = subparsers.add_parser("export", help="export a generator's network to ONNX",
                       description="Write the per-frame network of a .mdna generator as ONNX (opset 17) through "
                                   "the engine worker; the DNA and decoding stay in the .mdna (docs/engine.md).")
    e.add_argument("--generator", required=True, help="generator file (.mdna)")
    e.add_argument("--out", required=True, help="ONNX file to write (.onnx)")
    e.add_argument("--python", help="interpreter with torch for the engine worker (default: this one)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    return e


def run(args):
    if not args.out.lower().endswith(".onnx"):
        raise UsageError(f"--out should be an .onnx file, got '{args.out}'")
    output_file(args.out, generator=args.generator)
    need_file(args.generator, "generator file")
    started = time.perf_counter()
    info = dict(api.export_onnx(args.generator, args.out, python=args.python))
    info["wall_seconds"] = round(time.perf_counter() - started, 3)
    return info, (f"wrote {args.out} ({info['size_bytes'] / 1024:.0f} KB, opset {info['opset']}, "
                  f"inputs dev {info['inputs']['dev']}, cond {info['inputs']['cond']})")
