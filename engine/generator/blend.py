"""Inertialization: hide a timeline's jumps with offsets that die out smoothly.

When the timeline jumps from source frame i to frame j, the output keeps going where i
was going (its state and its velocity) and an offset carries it over to j's material: a
critically damped spring on the difference, so both the pose and its velocity are
continuous at the jump (Bollo 2016, *Inertialization*; Holden 2021, *Spring-It-On*).
Offsets of overlapping jumps add. Everything is vectorised over frames and state columns.
"""
import numpy as np

HALF_LIFE_SECONDS = 0.08


def damping(half_life_frames):
    """The spring's decay rate per frame for a given half-life."""
    return 2.0 * np.log(2.0) / max(float(half_life_frames), 1e-6)


def spring_curves(count, half_life_frames):
    """(position_gain, velocity_gain) per frame n = 0..count-1: x(n) = x0 a(n) + v0 b(n)."""
    y = damping(half_life_frames)
    n = np.arange(count, dtype=np.float64)
    e = np.exp(-y * n)
    return (1.0 + y * n) * e, n * e


def spring_frames(half_life_frames):
    """Frames after which a spring's offset is negligible, under 1e-4 of its start:
    (1 + x) e^-x < 1e-4 from x = 11.8 on."""
    return int(np.ceil(11.8 / damping(half_life_frames))) + 1


def jump_offsets(base, idx, jumps, half_life_frames):
    """(T, D) offsets that make ``base[idx] + offsets`` continuous through every jump.

    At a jump into output frame t (source i = idx[t-1] -> j = idx[t]) the output at t is
    where frame i extrapolates to, and its velocity is i's. ``half_life_frames``: one for
    all jumps, or one per jump. Each spring is evaluated only until it is negligible."""
    T, D = len(idx), base.shape[1]
    lives = np.broadcast_to(np.asarray(half_life_frames, float), (len(jumps),))
    offsets = np.zeros((T, D))
    for t, life in zip(jumps, lives):
        i, j = int(idx[t - 1]), int(idx[t])
        v_old = base[i] - base[max(i - 1, 0)]
        v_new = base[min(j + 1, len(base) - 1)] - base[j] if j == 0 else base[j] - base[j - 1]
        a, b = spring_curves(min(T - t, spring_frames(life)), life)
        offsets[t:t + len(a)] += a[:, None] * (base[i] + v_old - base[j]) + b[:, None] * (v_old - v_new)
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
