"""Recognising a .blend file by its first bytes, without opening it in Blender."""

BLEND_MAGICS = (b"BLENDER", b"\x28\xb5\x2f\xfd", b"\x1f\x8b")  # plain, zstd, gzip (old)


def looks_like_blend(path):
    """Whether ``path`` starts like a .blend file; False when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(7).startswith(BLEND_MAGICS)
    except OSError:
        return False
