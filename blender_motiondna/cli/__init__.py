"""The MotionDNA command line: ``python -m blender_motiondna ...`` with the bpy module, and
``blender --command motiondna ...`` in a real Blender 4.2+ (registered on add-on load).

Commands: build, generate, bake, bench, info, export-onnx, demo, search, library, from-text (``--help`` on each; docs/cli.md).
Results go to stdout (text, or JSON with ``--json``); progress, warnings and Blender's
own chatter go to stderr.

Exit codes: 0 done, 1 bad input (file, clip, targets), 2 bad arguments, 3 engine failure
(worker could not start, crashed, or the build failed), 130 cancelled. A batch exits 0
when every item is done or skipped, else with the most serious item's code
(130 > 3 > 1)."""
import argparse
import json
import sys

import bpy

from ...engine.io.fileformat import FormatError
from .. import worker_client
from ..bootstrap import stdout_to_stderr
from . import bake, bench, build, demo, export_onnx, fromtext, generate, info, library, search
from .common import EXIT_CANCELLED, EXIT_ENGINE, EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError, ensure_registered

# In ``motiondna --help`` order.
COMMANDS = {"build": build, "generate": generate, "bake": bake, "bench": bench,
            "info": info, "export-onnx": export_onnx, "demo": demo, "search": search, "library": library,
            "from-text": fromtext}


def _parser():
    p = argparse.ArgumentParser(
        prog="motiondna", description="Build and run per-clip motion generators.",
        epilog="Exit codes: 0 done, 1 bad input, 2 bad arguments, 3 engine failure, 130 cancelled. "
               "'motiondna COMMAND --help' for each command.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():  # each module: add_parser(subparsers), run(args) -> (info, message)
        command_parser = command.add_parser(sub)
        command_parser.set_defaults(_parser=command_parser)
    return p


def main(argv=None):
    """Run the CLI on ``argv`` (default: sys.argv[1:]); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or bad arguments (2)
        return int(e.code or 0)
    ensure_registered()
    try:
        with stdout_to_stderr():  # importers and Blender print chatter; stdout is for results
            info, message = COMMANDS[args.command].run(args)
    except UsageError as e:
        args._parser.print_usage(sys.stderr)
        print(f"motiondna {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (worker_client.Cancelled, KeyboardInterrupt):
        print("motiondna: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except (worker_client.WorkerError, worker_client.WorkerDied, worker_client.EngineUnavailable,
            bench.BenchFailed, TimeoutError) as e:
        print(f"motiondna: engine failed: {e}", file=sys.stderr)
        return EXIT_ENGINE
    except (ValueError, KeyError, FormatError, OSError) as e:
        print(f"motiondna: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if getattr(args, "json", False):
        print(json.dumps(info, indent=1))
    else:
        print(message)
    sys.stdout.flush()
    return getattr(info, "exit_code", EXIT_OK)


def _blender_command(argv):
    """``blender --command motiondna ARGS``: Blender passes the arguments after the id."""
    return main(list(argv))


def register_command():
    """``blender --command motiondna ...`` (Blender 4.2+)."""
    global _cli_handle
    if hasattr(bpy.utils, "register_cli_command"):
        _cli_handle = bpy.utils.register_cli_command("motiondna", _blender_command)


def unregister_command():
    global _cli_handle
    if _cli_handle is not None and hasattr(bpy.utils, "unregister_cli_command"):
        bpy.utils.unregister_cli_command(_cli_handle)
    _cli_handle = None


_cli_handle = None
