"""Generators kept inside the .blend (base64 of the .mdna file on the armature), and a
cache of loaded runtimes so live regeneration does not reload the file.

The cache is keyed by a digest stored next to the data: reading the (large) data string
and hashing it on every live update would cost milliseconds per drag step."""
import base64
import binascii
import hashlib
import json
import os
import tempfile

from ...engine.generator.runtime import Generator
from ...engine.io import atomic, fileformat, generator_file

_cache = {}  # digest -> Generator
CACHE_SIZE = 8


def _digest(data):
    return hashlib.sha256(data.encode("ascii")).hexdigest()


def _remember(key, generator):
    _cache.pop(key, None)
    _cache[key] = generator
    while len(_cache) > CACHE_SIZE:  # oldest first: dicts keep insertion order
        _cache.pop(next(iter(_cache)))


def dna_summary(generator):
    """A few human lines about the generator's DNA and motion graph (shown in the panel)."""
    info = generator.meta.get("dna_info", {})
    lines = []
    if "smooth_jumps" in info:
        n = int(info["smooth_jumps"])
        lines.append(f"{n} smooth transition{'' if n == 1 else 's'}")
    if info.get("rhythm_period_s"):
        lines.append(f"rhythm {float(info['rhythm_period_s']):.2f} s")
    if "speed_mean" in info:
        lines.append(f"speed {float(info['speed_mean']):.2f} m/s (p95 {float(info.get('speed_p95', 0)):.2f})")
    names = generator.skeleton.names
    slots = [names[j] for j in info.get("effectors", []) if 0 <= j < len(names)]
    if slots:
        lines.append("effectors: " + ", ".join(slots[:6]) + (f" (+{len(slots) - 6})" if len(slots) > 6 else ""))
    feet = [names[j] for j in info.get("contacts", []) if 0 <= j < len(names)]
    if "contacts" in info:
        lines.append("contacts: " + (", ".join(feet[:6]) + (f" (+{len(feet) - 6})" if len(feet) > 6 else "") or "none"))
    return lines


def store_generator(armature, path, info=None):
    """Embed the .mdna at ``path`` in ``armature`` (so save/reload and sharing keep it)."""
    with open(path, "rb") as f:
        raw = f.read()
    generator = Generator.load(path)  # refuse a bad file before storing anything
    data = base64.b64encode(raw).decode("ascii")
    summary = {"size_bytes": len(raw), "joints": generator.skeleton.num_joints,
               "frames": generator.num_frames, "fps": generator.fps,
               "dna_summary": dna_summary(generator)}
    summary.update(info or {})
    settings = armature.mdna
    settings.generator_data = data
    settings.generator_digest = _digest(data)
    settings.generator_info = json.dumps(summary)
    _remember(settings.generator_digest, generator)
    return generator


def has_generator(armature):
    return armature is not None and armature.type == 'ARMATURE' and bool(armature.mdna.generator_data)


def generator_info(armature):
    try:
        return json.loads(armature.mdna.generator_info or "{}")
    except ValueError:
        return {}


def get_generator(armature):
    """The armature's generator as a runtime object (cached), or raise ValueError."""
    if not has_generator(armature):
        raise ValueError(f"'{armature.name}' has no generator yet: build one first")
    key = armature.mdna.generator_digest
    if key and key in _cache:
        return _cache[key]
    data = armature.mdna.generator_data
    key = _digest(data)  # a file from before digests, or a digest edited by hand
    if key not in _cache:
        _remember(key, _load_embedded(armature, data))
    return _cache[key]


def _load_embedded(armature, data):
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the generator stored in '{armature.name}' is damaged (not valid base64); "
                         "rebuild it or import the .mdna file again") from None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "generator.mdna")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            return Generator.load(path)
        except fileformat.FormatError as err:
            raise ValueError(f"the generator stored in '{armature.name}' cannot be read ({err}); "
                             "rebuild it or import the .mdna file again") from None


def save_bytes(armature, path):
    """Write the embedded generator to ``path`` (export). The data is decoded and checked
    as a readable generator before anything is written: a damaged stored generator raises
    ValueError and an existing file at ``path`` stays as it was."""
    if not has_generator(armature):
        raise ValueError(f"'{armature.name}' has no generator to save")
    try:
        raw = base64.b64decode(armature.mdna.generator_data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the generator stored in '{armature.name}' is damaged (not valid base64); "
                         "rebuild it or import the .mdna file again") from None

    def readable(tmp):
        try:
            generator_file.load(tmp)
        except fileformat.FormatError as err:
            raise ValueError(f"the generator stored in '{armature.name}' cannot be read ({err}); "
                             "rebuild it or import the .mdna file again") from None
    atomic.write_bytes(path, raw, check=readable)
    return path
