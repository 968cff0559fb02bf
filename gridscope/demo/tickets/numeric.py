"""Small vectorised draws and groupings the simulator is built from."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from gridscope.demo.tickets.schema import NAT, SEC


def lognorm(rng: np.random.Generator, size: int, median: float, p_late: float) -> np.ndarray:
    """Fractions of a limit: lognormal with the given median and P(x > 1) = p_late."""
    if p_late <= 0:
        sigma = 0.5
    else:
        sigma = math.log(1 / median) / NormalDist().inv_cdf(1 - p_late)
    return median * np.exp(sigma * rng.standard_normal(size))


def floor_s(t: np.ndarray) -> np.ndarray:
    """Instants (int64 µs) truncated to whole seconds."""
    return t - np.mod(t, SEC)


def pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element: ``probs[rows[i]]`` is the distribution of element i."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(rows.size)
    out = np.zeros(rows.size, dtype=np.int64)
    for c in range(probs.shape[1] - 1):  # inverse CDF, one category column at a time
        out += u >= cdf[rows, c]
    return out


def csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``values`` by integer ``keys`` in [0, n_keys): (offsets, values sorted by key)."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    return np.concatenate([[0], np.cumsum(counts)]), values[order]


def draw_from_pool(rng, offsets, pool, keys, fallback=NAT):
    """A uniform member of pool group ``keys[i]`` for each i (``fallback`` for empty groups)."""
    lo, hi = offsets[keys], offsets[keys + 1]
    size = hi - lo
    pos = lo + np.floor(rng.random(keys.size) * np.maximum(size, 1)).astype(np.int64)
    out = np.full(keys.size, fallback, dtype=np.int64)
    ok = size > 0
    out[ok] = pool[pos[ok]]
    return out
