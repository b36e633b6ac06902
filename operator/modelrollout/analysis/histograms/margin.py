"""The non-inferiority margin on a histogram's own scale: where the stable would be if slowed.

A latency margin speaks of latencies, but the tests only see bucket counts. Shifting the stable's
own (interpolated) histogram by the margin and reading it at the edges again puts the margin on
the scale each test measures: slow-request shares for the sequential edge test, the binned mean
for the mixture SPRT and Welch's t, placements for Mann-Whitney.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..types import Margin
from .buckets import survival_shares

__all__ = ["binned_margin", "shifted_latencies", "slower_at_margin"]

FloatArray = npt.NDArray[np.float64]


def shifted_latencies(margin: Margin, latencies: FloatArray) -> FloatArray:
    """The stable latencies that a slowdown exactly at the margin maps onto ``latencies``."""
    if margin.absolute is not None:
        return np.asarray(latencies - margin.absolute, dtype=np.float64)
    return np.asarray(latencies / (1 + (margin.relative or 0.0)), dtype=np.float64)


def slower_at_margin(
    edges: FloatArray, stable_cumulative: FloatArray, stable_total: FloatArray, margin: Margin
) -> FloatArray:
    """The stable's share slower than each edge once slowed down exactly by the margin.

    An edge the slowdown maps to zero or below (an absolute margin past it) has every request
    slower than it.
    """
    shifted = shifted_latencies(margin, edges)
    return np.asarray(
        np.where(
            shifted > 0,
            survival_shares(edges, stable_cumulative, stable_total, np.maximum(shifted, 1e-12)),
            1.0,
        ),
        dtype=np.float64,
    )


def binned_margin(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    margin: Margin,
    values: FloatArray,
) -> FloatArray:
    """How much a slowdown exactly at the margin moves the binned mean of ``values``.

    Why not simply ``log(1 + margin)``: with buckets 2-2.5x apart the binned mean of log latency
    does not move one for one with a scale change; depending on where the stable's mass sits
    against the edges a 5% slowdown can move it by more than 10%. Shifting the stable's own
    (interpolated) distribution by the margin and binning it again gives the margin on the scale
    the test measures. ``edges`` are the finite edges, ``values`` one per bucket (+Inf last).
    """
    slower = slower_at_margin(edges, stable_cumulative, stable_total, margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        stable_below = stable_cumulative / np.asarray(stable_total)[..., None]
    ones = np.ones((*np.shape(stable_total), 1))
    zeros = np.zeros_like(ones)
    at_margin = np.diff(np.concatenate((zeros, 1 - slower, ones), axis=-1), axis=-1)
    as_is = np.diff(np.concatenate((zeros, stable_below, ones), axis=-1), axis=-1)
    return np.asarray(((at_margin - as_is) * values).sum(axis=-1), dtype=np.float64)
