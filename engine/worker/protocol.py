"""Message framing between Blender and the engine worker process (stdlib only).

A frame is a 4-byte big-endian payload length followed by a UTF-8 JSON object. Length
prefixes (rather than newline- or NUL-terminated text) make a frame's end unambiguous and
let the reader refuse a garbage length before allocating for it, which is how corrupted
output (e.g. a stray print that slipped into the stream) is caught early.
"""
import json
import struct

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ProtocolError(RuntimeError):
    """The byte stream is not a valid sequence of frames."""


def _jsonable(value):
    """Fallback for values json cannot encode: numpy scalars/arrays (duck-typed, so this
    module stays stdlib-only), else their text, so a task's odd field never kills a frame."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def encode_frame(obj):
    if not isinstance(obj, dict):
        raise ProtocolError(f"a frame must hold a JSON object, got {type(obj).__name__}")
    payload = json.dumps(obj, separators=(",", ":"), default=_jsonable).encode("utf-8")
    if len(payload) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return _HEADER.pack(len(payload)) + payload


def write_frame(stream, obj):
    """Write one frame to a binary stream and flush it."""
    stream.write(encode_frame(obj))
    stream.flush()


def _read_exact(stream, n):
    """Read exactly ``n`` bytes; fewer only at end of stream."""
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream):
    """Read one frame from a binary stream: the decoded object, or None at a clean EOF."""
    header = _read_exact(stream, _HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise ProtocolError("stream ended inside a frame header (truncated frame)")
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame announces {size} bytes, over the {MAX_FRAME_BYTES}-byte limit "
                            "(corrupted stream or not a MotionDNA worker)")
    payload = _read_exact(stream, size)
    if len(payload) < size:
        raise ProtocolError(f"stream ended inside a frame ({len(payload)} of {size} bytes; truncated frame)")
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"frame is not valid UTF-8 JSON ({e})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"frame holds a JSON {type(obj).__name__}, expected an object")
    return obj
