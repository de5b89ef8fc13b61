"""Safe container for the engine's files: a zip of ``.npy`` arrays plus one JSON header.

Loading never runs code: arrays are read with ``allow_pickle=False`` and the header is
plain JSON. The header names the file kind and format version and carries a SHA-256 of
every array, so a truncated, corrupt, foreign or newer file is refused with a clear
message instead of producing garbage. Used for generators (``.mdna``) and for the clips
the Blender side hands to the worker.
"""
import hashlib
import io
import json
import os
import zipfile

import numpy as np

from ..motion.skeleton import Motion, Skeleton
from . import atomic

HEADER = "header.json"


class FormatError(ValueError):
    """A file that is not a valid engine file of the expected kind."""


def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write(path, kind, version, arrays, meta):
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype == object:
            raise TypeError(f"array '{k}' has dtype object; only numeric arrays may be stored")
    header = {"kind": kind, "format_version": version, "meta": meta,
              "arrays": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "sha256": _digest(v)} for k, v in arrays.items()}}
    with atomic.replacing(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(HEADER, json.dumps(header, indent=1))
            for k, v in arrays.items():
                buf = io.BytesIO()
                np.save(buf, v, allow_pickle=False)
                z.writestr(f"{k}.npy", buf.getvalue())


MAX_ARRAY_BYTES = 512 * 2 ** 20   # one array: a 50,000-frame clip of 100 joints is ~160 MB
MAX_TOTAL_BYTES = 2 * 2 ** 30     # everything a file may unpack to
MAX_HEADER_BYTES = 64 * 2 ** 20
ALLOWED_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                  "uint32", "uint64", "bool"}


def _check_sizes(name, z, header):
    """Refuse, before decompressing anything, arrays whose declared shapes, types or packed
    sizes are not plain bounded numeric arrays (a small file must not unpack to gigabytes)."""
    arrays = header.get("arrays")
    if not isinstance(arrays, dict):
        raise FormatError(f"{name}: damaged header ('arrays' must be an object, got {type(arrays).__name__})")
    total = 0
    for k, info in arrays.items():
        if not isinstance(info, dict) or not isinstance(info.get("shape"), list) or not isinstance(info.get("dtype"), str):
            raise FormatError(f"{name}: damaged header (array '{k}' needs a dtype and a shape)")
        if info["dtype"] not in ALLOWED_DTYPES:
            raise FormatError(f"{name}: array '{k}' has dtype '{info['dtype']}'; only plain numeric arrays are read")
        shape = info["shape"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d for d in shape):
            raise FormatError(f"{name}: array '{k}' declares the shape {shape}")
        size = int(np.prod(shape, dtype=object)) * np.dtype(info["dtype"]).itemsize
        try:
            packed = z.getinfo(f"{k}.npy").file_size
        except KeyError:
            raise FormatError(f"{name}: incomplete file (array '{k}' is missing)") from None
        total += packed
        if size > MAX_ARRAY_BYTES or packed > MAX_ARRAY_BYTES + 4096 or total > MAX_TOTAL_BYTES:
            raise FormatError(f"{name}: array '{k}' would unpack to {max(size, packed) / 2 ** 20:.0f} MB, over the "
                              f"{MAX_ARRAY_BYTES // 2 ** 20} MB this add-on reads; the file is not a generator it made")
        if packed > size + 4096:  # an .npy is its data plus a short header
            raise FormatError(f"{name}: array '{k}' holds {packed} bytes for a declared {size}; the file is damaged")


def read(path, kind, version):
    """Return (arrays, meta). Raises FormatError with a message a user can act on."""
    name = os.path.basename(str(path))
    if not os.path.isfile(path):
        raise FormatError(f"{name}: no such file")
    try:
        with zipfile.ZipFile(path) as z:
            try:
                if z.getinfo(HEADER).file_size > MAX_HEADER_BYTES:
                    raise FormatError(f"{name}: the header is over {MAX_HEADER_BYTES // 2 ** 20} MB; not a MotionDNA file")
                header = json.loads(z.read(HEADER).decode("utf-8"))
            except KeyError:
                raise FormatError(f"{name}: not a MotionDNA file (no header)") from None
            if not isinstance(header, dict):
                raise FormatError(f"{name}: damaged header (not a JSON object)")
            if header.get("kind") != kind:
                raise FormatError(f"{name}: holds a '{header.get('kind')}', expected a '{kind}'")
            found = header.get("format_version")
            if not isinstance(found, int) or found > version:
                raise FormatError(f"{name}: format version {found} is newer than this add-on reads ({version}); update MotionDNA")
            _check_sizes(name, z, header)
            arrays = {}
            for k, info in header["arrays"].items():
                a = np.load(io.BytesIO(z.read(f"{k}.npy")), allow_pickle=False)
                if str(a.dtype) != info["dtype"] or list(a.shape) != info["shape"] or _digest(a) != info["sha256"]:
                    raise FormatError(f"{name}: array '{k}' is corrupt (checksum mismatch)")
                arrays[k] = a
    except FormatError:
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{name}: damaged or truncated file ({type(e).__name__}: {e})") from None
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise FormatError(f"{name}: damaged header ('meta' must be an object)")
    return arrays, meta


CLIP_KIND, CLIP_VERSION = "motiondna.clip", 1


def save_motion(path, motion):
    meta = {"skeleton": motion.skeleton.to_dict(), "fps": motion.fps, "name": motion.name, "meta": motion.meta}
    write(path, CLIP_KIND, CLIP_VERSION, {"rotations": motion.rotations, "translations": motion.translations}, meta)


def load_motion(path):
    arrays, meta = read(path, CLIP_KIND, CLIP_VERSION)
    return Motion(Skeleton.from_dict(meta["skeleton"]), arrays["rotations"], arrays["translations"],
                  meta["fps"], meta.get("name", "clip"), meta.get("meta", {}))


def motion_hash(motion):
    """Stable hash of a clip's content; generators record it to recognise their source."""
    h = hashlib.sha256()
    h.update(json.dumps(motion.skeleton.to_dict(), sort_keys=True).encode())
    for a in (motion.rotations, motion.translations):
        h.update(np.round(np.ascontiguousarray(a), 6).tobytes())
    return h.hexdigest()
