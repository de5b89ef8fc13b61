"""Seeded damage for fuzz tests: BVH or JSON text, random JSON values, generator files."""
import json
import zipfile


def mutate_text(rng, text):
    lines = text.split("\n")
    for _ in range(rng.integers(1, 4)):
        i = int(rng.integers(len(lines)))
        kind = rng.integers(5)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines[i] = lines[i][: int(rng.integers(len(lines[i]) + 1))]
        elif kind == 2:
            toks = lines[i].split()
            if toks:
                toks[int(rng.integers(len(toks)))] = str(rng.choice(["nan", "1e309", "-", "{", "}", "x", "1e-300", "0"]))
                lines[i] = " ".join(toks)
        elif kind == 3:
            lines.insert(i, lines[int(rng.integers(len(lines)))])
        else:
            lines = lines[:i]
    return "\n".join(lines)


def random_json(rng, depth=0):
    kind = rng.integers(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(2))
    if kind == 2:
        return float(rng.choice([0.0, -1.0, 1e23, 60.7, float("nan"), 3.0]))
    if kind == 3:
        return int(rng.integers(-5, 200))
    if kind == 4:
        return str(rng.choice(["RightWrist", "Hips", "60", "", "heavy"]))
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))]
    keys = ["joint", "frame", "frames", "position", "positions", "weight", "targets"]
    return {str(rng.choice(keys)): random_json(rng, depth + 1) for _ in range(rng.integers(0, 5))}


def damage_generator(rng, good_path, path, in_bytes):
    """Write to ``path`` a damaged copy of the generator file ``good_path``: bytes flipped
    and the file truncated (``in_bytes``), or a valid zip whose header has one field (of
    the header or its meta) replaced by a random JSON value."""
    if in_bytes:
        data = bytearray(open(good_path, "rb").read())
        for _ in range(rng.integers(1, 20)):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        path.write_bytes(bytes(data[: int(rng.integers(len(data) // 2, len(data) + 1))]))
        return
    with zipfile.ZipFile(good_path) as z:
        header = json.loads(z.read("header.json"))
        members = {n: z.read(n) for n in z.namelist()}
    section = header["meta"] if rng.integers(2) else header
    section[str(rng.choice(list(section)))] = random_json(rng)
    with zipfile.ZipFile(path, "w") as z:
        for name, blob in members.items():
            z.writestr(name, json.dumps(header) if name == "header.json" else blob)
