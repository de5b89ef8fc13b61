"""1-D signal filters over time in plain numpy.

Blender's bundled Python has numpy but not scipy, and these run inside Blender (live
regeneration, refinement, reports), so they are written here. Each matches the scipy.ndimage
function of the same name with ``mode="nearest"`` (edge values repeated), which is the
only boundary mode the engine uses; tests check them against scipy where it is installed."""
import numpy as np

GAUSSIAN_TRUNCATE = 4.0  # kernel radius in sigmas, scipy's default


def _pad_nearest(x, before, after, axis):
    width = [(0, 0)] * x.ndim
    width[axis] = (before, after)
    return np.pad(x, width, mode="edge")


def gaussian_filter1d(x, sigma, axis=0):
    """Gaussian smoothing along ``axis`` with standard deviation ``sigma`` samples."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    radius = int(GAUSSIAN_TRUNCATE * float(sigma) + 0.5)
    if radius == 0 or x.shape[axis] == 0:
        return x.copy()
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / float(sigma)) ** 2)
    kernel /= kernel.sum()
    moved = np.moveaxis(x, axis, 0)
    padded = _pad_nearest(moved, radius, radius, 0).astype(np.float64)
    n = moved.shape[0]
    out = np.zeros(moved.shape)
    # A weighted sum of shifted copies in float64 (as scipy sums): the kernel is short (a
    # few dozen taps) and the signals long and wide, so this beats per-column np.convolve.
    for k, w in enumerate(kernel):
        out += w * padded[k:k + n]
    return np.moveaxis(out.astype(x.dtype, copy=False), 0, axis)


def uniform_filter1d(x, size, axis=0):
    """Moving average over ``size`` samples along ``axis``. An even window reaches one
    sample further back than forward, as scipy's does (origin 0)."""
    size = int(size)
    if size < 1:
        raise ValueError(f"a moving average needs a window of at least 1 sample, not {size}")
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    if size == 1 or x.shape[axis] == 0:
        return x.copy()
    before, after = size // 2, (size - 1) // 2
    moved = np.moveaxis(x, axis, 0)
    padded = _pad_nearest(moved, before, after, 0).astype(np.float64)
    total = np.concatenate([np.zeros((1,) + moved.shape[1:]), np.cumsum(padded, axis=0)], axis=0)
    n = moved.shape[0]
    out = (total[size:size + n] - total[:n]) / size
    return np.moveaxis(out.astype(x.dtype, copy=False), 0, axis)


def distance_to_true(mask):
    """For a 1-D boolean ``mask``: each sample's distance, in samples, to the nearest True
    one (0 on True samples). ``mask`` must hold at least one True."""
    mask = np.asarray(mask, dtype=bool)
    hits = np.flatnonzero(mask)
    if not len(hits):
        raise ValueError("distance_to_true needs at least one True sample")
    t = np.arange(len(mask))
    right = np.searchsorted(hits, t).clip(0, len(hits) - 1)
    left = (right - 1).clip(0, len(hits) - 1)
    return np.minimum(np.abs(hits[right] - t), np.abs(t - hits[left])).astype(float)
