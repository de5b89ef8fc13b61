"""Build the extension zip with Blender's own extension tool (``bl_pkg/cli/blender_ext.py``
in the bpy module), as ``blender --command extension build`` does.

    .venv/bin/python tools/package.py [--output-dir out/package] [--split-platforms]
"""
import argparse
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blender_ext_tool():
    """The path of blender_ext.py inside the installed bpy module (bpy is not started)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise SystemExit("tools/package.py: the bpy module is not installed in this Python")
    base = os.path.dirname(spec.origin)
    for version in sorted(os.listdir(base), reverse=True):
        path = os.path.join(base, version, "scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py")
        if os.path.isfile(path):
            return path
    raise SystemExit(f"tools/package.py: Blender's extension tool was not found under {base}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", default=os.path.join(ROOT, "out", "package"))
    p.add_argument("--split-platforms", action="store_true", help="one zip per platform (for bundled wheels)")
    args = p.parse_args(argv)
    cmd = [sys.executable, blender_ext_tool(), "build", "--source-dir", ROOT, "--output-dir", args.output_dir]
    if args.split_platforms:
        cmd.append("--split-platforms")
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
