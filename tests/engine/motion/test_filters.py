"""The numpy filters and Euler conversions that replace scipy inside Blender match scipy."""
import numpy as np
import pytest

from motiondna.engine.motion import filters, quat

ndimage = pytest.importorskip("scipy.ndimage")
Rotation = pytest.importorskip("scipy.spatial.transform").Rotation


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.7, 9.0])
@pytest.mark.parametrize("axis", [0, 1])
def test_gaussian_matches_scipy(sigma, axis):
    x = np.random.default_rng(0).normal(size=(40, 7, 3))
    ours = filters.gaussian_filter1d(x, sigma, axis=axis)
    theirs = ndimage.gaussian_filter1d(x, sigma, axis=axis, mode="nearest")
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_gaussian_keeps_float32_and_short_signals():
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    ours = filters.gaussian_filter1d(x, 3.0)  # kernel much longer than the signal
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ndimage.gaussian_filter1d(x, 3.0, axis=0, mode="nearest"), atol=1e-7)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 12])
def test_uniform_matches_scipy(size):
    x = np.random.default_rng(2).normal(size=(30, 2, 3))
    ours = filters.uniform_filter1d(x, size, axis=0)
    np.testing.assert_allclose(ours, ndimage.uniform_filter1d(x, size=size, axis=0, mode="nearest"), atol=1e-12)


def test_uniform_refuses_an_empty_window():
    with pytest.raises(ValueError, match="at least 1"):
        filters.uniform_filter1d(np.zeros(4), 0)


def test_distance_to_true_matches_scipy():
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = rng.random(50) < rng.uniform(0.02, 0.5)
        m[rng.integers(50)] = True
        np.testing.assert_array_equal(filters.distance_to_true(m), ndimage.distance_transform_edt(~m))


@pytest.mark.parametrize("order", ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"])
def test_euler_matches_scipy_both_ways(order):
    rng = np.random.default_rng(4)
    angles = rng.uniform(-np.pi, np.pi, size=(200, 3)) * [1.0, 0.49, 1.0]
    q = quat.from_euler(angles, order)
    xyzw = Rotation.from_euler(order, angles).as_quat()
    np.testing.assert_allclose(np.abs(np.sum(q * xyzw[:, [3, 0, 1, 2]], -1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(quat.to_euler(q, order), Rotation.from_quat(xyzw).as_euler(order), atol=1e-9)


def test_euler_gimbal_lock_round_trips():
    angles = np.array([[0.3, np.pi / 2, 0.0], [-1.1, -np.pi / 2, 0.0]])
    for order in ("ZXY", "XYZ"):
        q = quat.from_euler(angles, order)
        back = quat.from_euler(quat.to_euler(q, order), order)
        np.testing.assert_allclose(np.abs(np.sum(q * back, -1)), 1.0, atol=1e-9)
