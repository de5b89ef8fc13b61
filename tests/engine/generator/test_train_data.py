"""The training data of long clips is made in pieces that equal the whole: the atoms frame
chunk by frame chunk and joint subtree by subtree (train._PoseAt) against encoding the
rotated clip, and the pose neighbours among every n-th frame of a long clip."""
import numpy as np

from motiondna.engine.generator import dna as dna_mod
from motiondna.engine.generator import train
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import features, quat

from conftest import CLIP


def _encoded_atom(clip, enc, layout, dna, joint, axis, eps=0.1):
    """The atom as its definition reads: encode the clip with one joint rotated."""
    vec = np.zeros(3)
    vec[axis] = eps
    rots = clip.rotations.copy()
    rots[:, joint] = quat.mul(rots[:, joint], quat.from_scaled_axis(vec))
    rotated = type(clip)(clip.skeleton, rots, clip.translations, clip.fps, clip.name)
    states = features.encode(rotated, forward_local=dna["forward_local"], layout=layout).states
    return (states - enc.states) / eps / dna["scale"]


def test_atoms_made_in_chunks_equal_encoding_the_rotated_clip(monkeypatch):
    clip = read_bvh(CLIP).to_motion()
    dna, info, layout, _ = dna_mod.build_dna(clip)
    enc = features.encode(clip, forward_local=dna["forward_local"], layout=layout)
    headings_q = features.heading_quat(enc.headings, clip.skeleton.up_axis)
    events = train._event_joints(clip.skeleton, info["effectors"])
    full = np.zeros((len(events), train.ATOMS_PER_EVENT, clip.num_frames, layout.size))  # (E, 9, F, D)
    for e, joints in enumerate(events):
        for i, joint in enumerate(joints):
            for axis in range(3):
                full[e, 3 * i + axis] = _encoded_atom(clip, enc, layout, dna, joint, axis)
    rows = np.random.default_rng(0).permutation(full[:, :, :, 0].size)[:500]
    sample = train._atom_sample(clip, enc, layout, dna, events, rows, headings_q)
    assert np.array_equal(sample, full.reshape(-1, layout.size)[rows])             # bit for bit
    basis = np.random.default_rng(1).normal(size=(8, layout.size))
    monkeypatch.setattr(train, "ATOM_CHUNK_FRAMES", 16)                            # several chunks
    table = train._atom_table(clip, enc, layout, dna, events, basis, headings_q)
    whole = (full @ basis.T).transpose(0, 2, 1, 3).reshape(len(events), clip.num_frames, -1)
    assert np.allclose(table, whole, rtol=1e-6, atol=1e-6 * np.abs(whole).max())


def test_a_long_clip_finds_neighbours_among_every_nth_frame(monkeypatch):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(300, 6))
    fps, gap = 30.0, 8                                      # min_gap_s 0.25 at 30 fps: 8 frames
    monkeypatch.setattr(train, "NEIGHBOUR_CANDIDATES", 100)  # 300 frames: every 3rd is a candidate
    monkeypatch.setattr(train, "NEIGHBOUR_ROWS", 64)
    out = train.pose_neighbours(codes, fps, count=4)
    assert out.shape == (300, 4) and np.all(out % 3 == 0)
    cand = np.arange(0, 300, 3)
    for f in (0, 150, 299):
        d = np.linalg.norm(codes[cand] - codes[f], axis=1)
        d[np.abs(cand - f) < gap] = np.inf
        assert sorted(out[f]) == sorted(cand[np.argsort(d)[:4]])
