"""A small HTTP server around a text-to-motion model: what ``from-text --backend-url`` talks to.

    python tools/t2m_server.py --generate my_wrapper:generate [--host 127.0.0.1] [--port 8765]

``my_wrapper.generate(prompt, duration, seed)`` is the user's code around their model
(MotionLCM, MoMask, MDM...: load it once at import, sample in the function). It returns
an (F, 22, 3) array of HumanML3D joint positions (Y up, metres, 20 fps) or a full answer
dict (docs/library.md "Backends"). The server answers ``POST /`` (any path) with JSON
``{"prompt", "duration", "seed"}`` -> the answer as JSON; a failure is status 500 with
``{"error": "..."}``. It runs wherever the model runs (its own Python, a GPU machine);
Blender only needs the URL.
"""
import argparse
import importlib
import json
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def answer_of(result, fps=20.0):
    """The JSON answer for what ``generate`` returned: an answer dict or joint positions."""
    if isinstance(result, dict):
        out = dict(result)
        for key, value in out.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
        return out
    joints = np.asarray(result, dtype=float)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3):
        raise ValueError(f"generate returned shape {joints.shape}; expected (frames, 22, 3) joint positions")
    return {"format": "joints", "fps": fps, "joints": joints.tolist()}


def make_server(generate, host="127.0.0.1", port=8765, fps=20.0):
    """A ThreadingHTTPServer that answers prompts with ``generate``; call serve_forever()."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                prompt = str(request["prompt"])
                answer = answer_of(generate(prompt, request.get("duration"), int(request.get("seed", 0))), fps)
                self._send(200, answer)
            except Exception as exc:  # the client shows the message; the traceback stays here
                traceback.print_exc()
                self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

        def _send(self, code, doc):
            data = json.dumps(doc).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            sys.stderr.write("t2m_server: " + fmt % args + "\n")

    return ThreadingHTTPServer((host, port), Handler)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generate", required=True, metavar="MODULE:FUNCTION", help="generate(prompt, duration, seed)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--fps", type=float, default=20.0, help="frame rate of returned joint arrays (HumanML3D: 20)")
    args = ap.parse_args(argv)
    module, _, name = args.generate.partition(":")
    generate = getattr(importlib.import_module(module), name)
    server = make_server(generate, args.host, args.port, args.fps)
    print(f"t2m_server: http://{args.host}:{server.server_address[1]}/", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
