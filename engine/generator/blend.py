"""Inertialization: hide a timeline's jumps with offsets that die out smoothly.

When the timeline jumps from source frame i to frame j, the output keeps going where i
was going (its state and its velocity) and an offset carries it over to j's material: a
critically damped spring on the difference, so both the pose and its velocity are
continuous at the jump (Bollo 2016, *Inertialization*; Holden 2021, *Spring-It-On*).
Offsets of overlapping jumps add. Everything is vectorised over frames and state columns.
"""
import numpy as np

HALF_LIFE_SECONDS = 0.08
NEGLIGIBLE = 1e-4   # of the starting offset: where a spring's tail is cut


def damping(half_life_frames):
    """The spring's decay rate per frame for a given half-life."""
    return 2.0 * np.log(2.0) / max(float(half_life_frames), 1e-6)


def spring_curves(count, half_life_frames):
    """(position_gain, velocity_gain) per frame n = 0..count-1: x(n) = x0 a(n) + v0 b(n)."""
    y = damping(half_life_frames)
    n = np.arange(count, dtype=np.float64)
    e = np.exp(-y * n)
    return (1.0 + y * n) * e, n * e


def jump_offsets(base, idx, jumps, half_life_frames, start_state=None):
    """``half_life_frames``: one for all jumps, or one per jump."""
    """(T, D) offsets that make ``base[idx] + offsets`` continuous through every jump.

    At a jump into output frame t (source i = idx[t-1] -> j = idx[t]) the output at t is
    where frame i extrapolates to, and its velocity is i's; ``start_state``, if given,
    is where output frame 0 starts instead of ``base[idx[0]]`` (a given pose)."""
    T, D = len(idx), base.shape[1]
    lives = np.broadcast_to(np.asarray(half_life_frames, float), (len(jumps),))
    offsets = np.zeros((T, D))
    kicks = []
    if start_state is not None:
        first = float(np.max(lives)) if len(lives) else float(half_life_frames)
        kicks.append((0, np.asarray(start_state, float) - base[idx[0]], np.zeros(D), first))
    for t, life in zip(jumps, lives):
        i, j = int(idx[t - 1]), int(idx[t])
        v_old = base[i] - base[max(i - 1, 0)]
        v_new = base[min(j + 1, len(base) - 1)] - base[j] if j == 0 else base[j] - base[j - 1]
        kicks.append((t, base[i] + v_old - base[j], v_old - v_new, life))
    for t0, x0, v0, life in kicks:
        a, b = spring_curves(T - t0, life)
        n = max(1, int(np.searchsorted(-a, -NEGLIGIBLE)))
        offsets[t0:t0 + n] += a[:n, None] * x0 + b[:n, None] * v0
    return offsets


def seam_offsets(states, target_state, target_velocity, half_life_frames):
    """(T, D) offsets fading *backwards* from the last frame so that it flows into
    ``target_state`` with ``target_velocity`` (a loop's first frame, or a given end pose)."""
    T, D = states.shape
    a, b = spring_curves(T, half_life_frames)
    want_last = np.asarray(target_state, float) - np.asarray(target_velocity, float)
    x0 = want_last - states[-1]
    v_end = states[-1] - states[-2] if T > 1 else np.zeros(D)
    v0 = v_end - np.asarray(target_velocity, float)   # backwards in time: the velocity sign flips
    back = a[:, None] * x0 + b[:, None] * v0
    return back[::-1]
