"""Writing files so that a failure never damages what is already there.

Every file the project writes goes to a temporary file in the target's own folder (so the
final rename stays on one file system) and replaces the target only once it is complete
and, where a check is given, valid; on any error the temporary file is removed and the
target is untouched."""
import contextlib
import os
import tempfile


def check_output_path(path):
    """The absolute output path, or ValueError when it cannot be a file: empty, an
    existing folder, or inside a folder that exists as a file."""
    if not path or not str(path).strip():
        raise ValueError("the output path is empty")
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder; give a file name")
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"{path}: {parent} is a file, not a folder")
    return path


@contextlib.contextmanager
def replacing(path, check=None):
    """``with replacing(path) as tmp:`` write ``tmp``; on leaving, ``check(tmp)`` (if given)
    runs and ``tmp`` replaces ``path``. Parent folders are created."""
    path = check_output_path(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes(path, data, check=None):
    """Write ``data`` to ``path`` through ``replacing``; returns the absolute path."""
    with replacing(path, check) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return os.path.abspath(os.fspath(path))


def write_text(path, text, check=None):
    with replacing(path, check) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.abspath(os.fspath(path))
