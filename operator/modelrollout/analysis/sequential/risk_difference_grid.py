"""The exact part of the risk difference's evidence: likelihood ratios over a grid of alternatives.

Each pair of rates on the grid is tested against its projection onto the margin (the least
favourable pair, :mod:`.risk_difference_rates`), and the ratios are averaged, an e-value against
the whole composite null (:mod:`.risk_difference`). Kept apart so that the grid's arithmetic,
the costliest part of a rollout's analysis, can be read in one place, with the layout that makes
it cheap (the pairs along the last axis, :func:`_alternatives`).

Proof: docs/statistics.md#risk-difference; measured cost: docs/statistics.md#cpu-budget
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from .mixtures import as_float_arrays, log_mean_exp
from .risk_difference_rates import least_favourable_rate
from .segments import SegmentStarts, carried, restarted

__all__ = [
    "EXCESS_GRID_POINTS",
    "MAX_EXCESS",
    "SMALLEST_SCALE",
    "STABLE_RATE_GRID",
    "Direction",
    "Side",
    "exact_log_evidence",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike
Direction = Literal["greater", "less"]
"""``greater``: evidence that ``p_c > p_s + m`` (Fail); ``less``: that ``p_c < p_s + m`` (Pass)."""
Side = Direction | npt.NDArray[np.float64]
"""A direction, or per element its sign (+1 for "greater", -1 for "less"), so that both sides of
the confidence sequence are searched in the same numpy calls."""

STABLE_RATE_GRID: Final = tuple(float(r) for r in np.geomspace(1e-4, 0.5, 14))
"""Stable rates of the alternatives; each sits about 1.9x above the one before."""
EXCESS_GRID_POINTS: Final = 14
"""Distances of the alternatives' candidate rate from the margin, geometric from a quarter of the
margin to ``MAX_EXCESS``."""
MAX_EXCESS: Final = 0.5
SMALLEST_SCALE: Final = 0.001
"""Effect scale (0.1 pp) used instead of a margin of zero, for the grid's start and the prior."""


def _sign(side: Side) -> FloatArray | float:
    if isinstance(side, str):
        return 1.0 if side == "greater" else -1.0
    return np.asarray(side, dtype=np.float64)


def _scale(margin: FloatArray) -> FloatArray:
    return np.asarray(np.maximum(np.abs(margin), SMALLEST_SCALE), dtype=np.float64)


_STABLE_RATES: Final = np.asarray(STABLE_RATE_GRID).reshape((-1, 1))
_STABLE_BY_PAIR: Final = np.repeat(np.asarray(STABLE_RATE_GRID), EXCESS_GRID_POINTS)
_EXCESS_STEPS: Final = np.linspace(0.0, 1.0, EXCESS_GRID_POINTS)


def _alternatives(margin: FloatArray, sign: FloatArray | float) -> tuple[FloatArray, FloatArray, BoolArray]:
    """The grid's pairs and where each one fits, the pairs along the last axis: stable rates
    shaped ``(pairs,)``, candidate rates and the fit ``(*margin.shape, pairs)``.

    A pair fits where its candidate rate is inside ``(0, 1)``; the others keep their prior weight
    with an e-value of zero (the average divides by the whole grid), which keeps the average an
    e-value whatever the margin. Pairs last, because on one rollout's arrays numpy's cost per
    element is in how it loops: a term of one look (a count, the margin) broadcast along a
    contiguous last axis of 196 pairs costs half of one broadcast across leading pair axes.
    """
    start = _scale(margin)[..., None] / 4
    distance = start * (MAX_EXCESS / start) ** _EXCESS_STEPS
    signed = (sign[..., None] if isinstance(sign, np.ndarray) else sign) * distance
    candidate = (_STABLE_RATES + margin[..., None, None]) + signed[..., None, :]
    candidate = candidate.reshape((*margin.shape, -1))
    fits = (candidate > 0) & (candidate < 1)
    # np.clip's Python wrapper costs more than the two ufuncs it amounts to.
    return _STABLE_BY_PAIR, np.minimum(np.maximum(candidate, 1e-9), 1 - 1e-9), fits


def _exact_log_ratios(
    x_s: FloatArray,
    n_s: FloatArray,
    x_c: FloatArray,
    n_c: FloatArray,
    m: FloatArray,
    sign: FloatArray | float,
) -> FloatArray:
    """``log q(data) / p*(data)`` for every pair of the grid, shape ``(pairs, *counts.shape)``,
    ``-inf`` where a pair does not fit.

    Computed with the pairs last (:func:`_alternatives`) and returned with them first, C-ordered
    as before, so that the average over pairs adds the same numbers in the same order."""
    if not isinstance(sign, float):
        m, sign = np.broadcast_arrays(m, np.asarray(sign, dtype=np.float64))
    q_s, q_c, fits = _alternatives(m, sign)
    x_s, n_s, x_c, n_c, m = (v[..., None] for v in (x_s, n_s, x_c, n_c, m))
    p = least_favourable_rate(q_s, q_c, n_s, n_c, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        away = 1 - p
        log_ratio = (
            special.xlogy(x_s, q_s / p)
            + special.xlogy(n_s - x_s, (1 - q_s) / away)
            + special.xlogy(x_c, q_c / (p + m))
            + special.xlogy(n_c - x_c, (1 - q_c) / (away - m))
        )
    ratios = np.where(fits & ~np.isnan(log_ratio), log_ratio, -np.inf)
    return np.ascontiguousarray(np.moveaxis(ratios, -1, 0), dtype=np.float64)


def exact_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
    direction: Side,
    segment_starts: SegmentStarts = (),
) -> FloatArray:
    """Log of the grid average of ``q(data) / p*(data)``: an e-value against ``p_c <= p_s + margin``
    ("greater") or against ``p_c >= p_s + margin`` ("less").

    With ``segment_starts`` the counts are a path (looks last) and each pair's ratio is the
    product of its segments' ratios, each projected with its own segment's request counts: the
    projection depends on the split, so a ratio projected with another split's counts could grow
    under the null (:mod:`.segments`)."""
    sign = _sign(direction)
    if not segment_starts:
        # Each array keeps its shape; the grid's arithmetic broadcasts them, the same numbers.
        x_s, n_s, x_c, n_c, m = (
            np.asarray(v, dtype=np.float64)
            for v in (stable_events, stable_exposure, candidate_events, candidate_exposure, margin)
        )
        return log_mean_exp(_exact_log_ratios(x_s, n_s, x_c, n_c, m, sign))
    x_s, n_s, x_c, n_c, m = as_float_arrays(
        stable_events, stable_exposure, candidate_events, candidate_exposure, margin
    )
    seg_x_s, seg_n_s, seg_x_c, seg_n_c = (restarted(v, segment_starts) for v in (x_s, n_s, x_c, n_c))
    served = (seg_n_s > 0) & (seg_n_c > 0)
    ratios = np.where(served, _exact_log_ratios(seg_x_s, seg_n_s, seg_x_c, seg_n_c, m, sign), 0.0)
    return log_mean_exp(carried(ratios, segment_starts))
