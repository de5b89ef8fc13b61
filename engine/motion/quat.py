"""Quaternion and rotation-matrix math on numpy arrays, (w, x, y, z) like Blender.

Every function works on arrays of any leading shape: ``q[..., 4]``, ``v[..., 3]``,
``m[..., 3, 3]``. Kept small and vectorised because the runtime calls it per frame.
"""
import numpy as np


def normalize(q, eps=1e-12):
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), eps)


def identity(shape=()):
    q = np.zeros(tuple(shape) + (4,))
    q[..., 0] = 1.0
    return q


def inv(q):
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def mul(a, b):
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)))  # cheaper than np.stack
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def _cross(a, b):
    # np.cross spends most of its time reshaping; for (..., 3) arrays this is 3x faster.
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)))
    out[..., 0] = ay * bz - az * by
    out[..., 1] = az * bx - ax * bz
    out[..., 2] = ax * by - ay * bx
    return out


def mul_vec(q, v):
    # v' = v + 2w (u x v) + 2 u x (u x v), u = q.xyz: cheaper than building matrices.
    u = q[..., 1:]
    t = 2.0 * _cross(u, v)
    return v + q[..., :1] * t + _cross(u, t)


def inv_mul(a, b):
    return mul(inv(a), b)


def inv_mul_vec(q, v):
    return mul_vec(inv(q), v)


def to_matrix(q):
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.empty(q.shape[:-1] + (3, 3))
    m[..., 0, 0] = 1 - 2 * (y * y + z * z)
    m[..., 0, 1] = 2 * (x * y - w * z)
    m[..., 0, 2] = 2 * (x * z + w * y)
    m[..., 1, 0] = 2 * (x * y + w * z)
    m[..., 1, 1] = 1 - 2 * (x * x + z * z)
    m[..., 1, 2] = 2 * (y * z - w * x)
    m[..., 2, 0] = 2 * (x * z - w * y)
    m[..., 2, 1] = 2 * (y * z + w * x)
    m[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return m


def from_matrix(m):
    """Rotation matrix (orthonormal, any leading shape) to unit quaternion, w >= 0."""
    m = np.asarray(m, dtype=float)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    easy = trace > -0.5  # rotations under ~140 degrees: the w branch is well conditioned
    if easy.all():
        return _from_matrix_w(m, trace)
    q = np.empty(m.shape[:-2] + (4,))
    q[easy] = _from_matrix_w(m[easy], trace[easy])
    q[~easy] = _from_matrix_general(m[~easy])
    return q


def _from_matrix_w(m, trace):
    w4 = 2.0 * np.sqrt(1.0 + trace)  # 4w, > 1 when trace > -0.5
    q = np.empty(m.shape[:-2] + (4,))
    q[..., 0] = 0.25 * w4
    q[..., 1] = (m[..., 2, 1] - m[..., 1, 2]) / w4
    q[..., 2] = (m[..., 0, 2] - m[..., 2, 0]) / w4
    q[..., 3] = (m[..., 1, 0] - m[..., 0, 1]) / w4
    return normalize(q)


def _from_matrix_general(m):
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # Four candidate solutions; pick the numerically largest denominator per element.
    cand = np.stack([
        np.stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
    ], -2)
    diag = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q = normalize(q)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def to_6d(q):
    """Continuous 6D representation (Zhou et al. 2019): the first two matrix columns."""
    m = to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def matrix_from_6d(d):
    a = d[..., 0:3]
    b = d[..., 3:6]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)
    b = b - np.sum(x * b, axis=-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-9)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def from_6d(d):
    return from_matrix(matrix_from_6d(d))


def from_axis_angle(axis, angle):
    axis = np.asarray(axis, dtype=float)
    half = 0.5 * np.asarray(angle, dtype=float)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def to_scaled_axis(q, eps=1e-9):
    """Quaternion to rotation vector (axis * angle), shortest arc."""
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    return q[..., 1:] * np.where(s > eps, angle / np.maximum(s, eps), 2.0)


def from_scaled_axis(v, eps=1e-9):
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    axis = v / np.maximum(angle, eps)
    return np.concatenate([np.cos(0.5 * angle), np.sin(0.5 * angle) * axis], axis=-1)


def unroll(q, axis=0):
    """Flip signs along ``axis`` (time) so consecutive quaternions lie in one hemisphere."""
    q = np.moveaxis(np.asarray(q, dtype=float), axis, 0)
    flips = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
    out = np.array(q, copy=True)
    out[1:] *= np.cumprod(flips, axis=0)[..., None]  # a flip carries to every later frame
    return np.moveaxis(out, 0, axis)


def slerp(a, b, t):
    t = np.asarray(t, dtype=float)[..., None]
    b = b * np.where(np.sum(a * b, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    return mul(a, from_scaled_axis(t * to_scaled_axis(inv_mul(a, b))))


def between(u, v):
    """Shortest rotation taking direction u onto direction v."""
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    c = np.cross(u, v)
    w = 1.0 + np.sum(u * v, axis=-1, keepdims=True)
    q = np.concatenate([w, c], axis=-1)
    # Opposite vectors: rotate 180 degrees about any axis perpendicular to u.
    anti = w[..., 0] < 1e-9
    if np.any(anti):
        alt = np.cross(u, np.array([1.0, 0.0, 0.0]))
        alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) < 1e-6, np.cross(u, np.array([0.0, 1.0, 0.0])), alt)
        q = np.where(anti[..., None], np.concatenate([np.zeros_like(w), alt], -1), q)
    return normalize(q)


AXES = "XYZ"


def from_euler(angles, order):
    """Intrinsic Euler angles (..., n) in radians for the n axes of ``order`` like 'ZYX'
    (BVH channel order): R = R_a1 R_a2 R_a3."""
    angles = np.asarray(angles, dtype=float)
    q = identity(angles.shape[:-1])
    for k, axis_name in enumerate(order.upper()):
        axis = np.zeros(3)
        axis[AXES.index(axis_name)] = 1.0
        q = mul(q, from_axis_angle(axis, angles[..., k]))
    return q


def to_euler(q, order):
    """Inverse of ``from_euler``: intrinsic Euler angles (..., 3) in radians for ``order``
    like 'ZXY' (three different axes); the middle angle in [-pi/2, pi/2]."""
    i, j, k = (AXES.index(a) for a in order.upper())
    sgn = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    q = np.asarray(q, dtype=float)
    m = to_matrix(q / np.sqrt(q[..., 0] ** 2 + q[..., 1] ** 2 + q[..., 2] ** 2 + q[..., 3] ** 2)[..., None])
    b = np.arcsin(np.clip(sgn * m[..., i, k], -1.0, 1.0))
    a = np.arctan2(-sgn * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sgn * m[..., i, j], m[..., i, i])
    # Gimbal lock (middle angle +-90 degrees): only a +- c is defined; put it all in a.
    lock = np.hypot(m[..., i, i], m[..., i, j]) < 1e-9
    if np.any(lock):
        a = np.where(lock, np.arctan2(sgn * m[..., k, j], m[..., j, j]), a)
        c = np.where(lock, 0.0, c)
    return np.stack([a, b, c], -1)
