"""Generators kept inside the .blend (base64 of the .mdna file on the armature), and a
cache of loaded torch-free runtimes so live regeneration does not reload the file."""
import base64
import hashlib
import json
import os
import tempfile

from ..engine.runtime import Generator

_cache = {}  # data digest -> Generator


def _digest(data):
    return hashlib.sha256(data.encode("ascii")).hexdigest()


def store_generator(armature, path, info=None):
    """Embed the .mdna at ``path`` in ``armature`` (so save/reload and sharing keep it)."""
    with open(path, "rb") as f:
        raw = f.read()
    generator = Generator.load(path)  # refuse a bad file before storing anything
    settings = armature.mdna
    settings.generator_data = base64.b64encode(raw).decode("ascii")
    summary = {"size_bytes": len(raw), "joints": generator.skeleton.num_joints,
               "frames": generator.num_frames, "fps": generator.fps}
    summary.update(info or {})
    settings.generator_info = json.dumps(summary)
    _cache[_digest(settings.generator_data)] = generator
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
    data = armature.mdna.generator_data
    key = _digest(data)
    if key not in _cache:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "generator.mdna")
            save_bytes(armature, path)
            _cache[key] = Generator.load(path)
    return _cache[key]


def save_bytes(armature, path):
    """Write the embedded generator to ``path`` (export)."""
    if not has_generator(armature):
        raise ValueError(f"'{armature.name}' has no generator to save")
    with open(path, "wb") as f:
        f.write(base64.b64decode(armature.mdna.generator_data))
    return path


def forget(armature):
    armature.mdna.generator_data = ""
    armature.mdna.generator_info = ""
