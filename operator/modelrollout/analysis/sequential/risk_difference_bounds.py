"""The confidence sequence for ``p_c - p_s`` that status shows beside an absolute margin's verdict.

It is the set of differences that neither side of :mod:`.risk_difference` rejects at
``alpha / 2``, so it excludes the margin only when the evidence there is decisive.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from .mixtures import as_float_arrays
from .risk_difference import Direction, risk_difference_final_log_evidence

__all__ = ["risk_difference_confidence_sequence"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

_INTERVAL_STEPS: Final = 24
"""Bisection steps for a confidence sequence's end: 2 / 2^24, about 1e-7, finer than any display."""


def risk_difference_confidence_sequence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    alpha: float,
) -> tuple[FloatArray, FloatArray]:
    """A ``1 - alpha`` confidence sequence for ``p_c - p_s`` at the last look of a path.

    The counts are cumulative along the last axis, as for :func:`risk_difference_log_evidence`
    (a scalar is one look); the result drops that axis. Each end is where its one-sided evidence
    at ``alpha / 2`` stops rejecting, found by bisection over the difference (the "worse"
    evidence falls as the difference it is tested against grows, the "within" evidence rises),
    so a verdict at the margin and the interval tell the same story: an interval that excludes
    the margin comes with evidence past ``2 / alpha`` that decides. Ends are -1 or 1 where the
    data cannot bound them.
    """
    counts = as_float_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure)
    shape = counts[0].shape[:-1]
    x_s, n_s, x_c, n_c = (np.atleast_1d(v) for v in counts)
    log_threshold = math.log(2 / alpha)

    def end(direction: Direction) -> FloatArray:
        low, high = np.full(x_s.shape[:-1], -1.0 + 1e-6), np.full(x_s.shape[:-1], 1.0 - 1e-6)
        for _ in range(_INTERVAL_STEPS):
            middle = (low + high) / 2
            log_e = risk_difference_final_log_evidence(x_s, n_s, x_c, n_c, middle[..., None], direction)
            rejected = log_e >= log_threshold
            if direction == "greater":
                low, high = np.where(rejected, middle, low), np.where(rejected, high, middle)
            else:
                low, high = np.where(rejected, low, middle), np.where(rejected, middle, high)
        return low if direction == "greater" else high

    lower, upper = end("greater"), end("less")
    return (
        np.asarray(np.where(lower <= -1 + 1e-5, -1.0, lower), dtype=np.float64).reshape(shape),
        np.asarray(np.where(upper >= 1 - 1e-5, 1.0, upper), dtype=np.float64).reshape(shape),
    )
