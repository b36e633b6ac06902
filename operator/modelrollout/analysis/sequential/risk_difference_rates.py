"""The two rates on the margin that the risk-difference test needs, found as roots of one cubic.

Both the restricted maximum-likelihood pair (the score part's variance) and the projection of
each alternative onto the margin (the exact part's denominator) solve a first-order condition
that, cleared of its denominators, is a cubic in the stable rate: Farrington and Manning's
cubic. A cubic has a closed-form root, so Newton starts next to it and only polishes it to
machine precision; from the earlier start (a weighted average) Newton needed 8-13 calls over the
grid of 196 alternatives, and those calls were most of an evaluation of the evidence.

Proof and measured cost: docs/statistics.md#risk-difference, docs/statistics.md#cpu-budget
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..search import newton_root

__all__ = ["least_favourable_rate", "restricted_rate"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


def _rate_bounds(margin: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Stable rates for which both ``p_s`` and ``p_s + margin`` are inside ``(0, 1)``."""
    low = np.maximum(0.0, -margin) + 1e-12
    high = np.minimum(1.0, 1 - margin) - 1e-12
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def _cleared_condition(
    p: FloatArray,
    shifted: FloatArray,
    n_s: FloatArray,
    n_c: FloatArray,
    stable_term: FloatArray,
    candidate_term: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """``stable_term / (p (1 - p)) + candidate_term / (p' (1 - p'))`` (``p' = p + m``, given as
    ``shifted``) times both variances, and its slope; each term falls by its version's requests
    as ``p`` grows.

    Both rates below solve a condition of that form. Cleared of its denominators it is a cubic
    with the same sign inside the bracket, on which Newton converges in a few steps, where the
    poles near a rate of zero would throw it out of the bracket again and again.
    """
    stable_variance, candidate_variance = p * (1 - p), shifted * (1 - shifted)
    value = stable_term * candidate_variance + candidate_term * stable_variance
    slope = (
        stable_term * (1 - 2 * shifted)
        - n_s * candidate_variance
        + candidate_term * (1 - 2 * p)
        - n_c * stable_variance
    )
    return value, slope


def _cleared_value(
    p: FloatArray, shifted: FloatArray, stable_term: FloatArray, candidate_term: FloatArray
) -> FloatArray:
    """:func:`_cleared_condition`'s value alone, computed as it computes it (the same bits)."""
    return stable_term * (shifted * (1 - shifted)) + candidate_term * (p * (1 - p))


def _middle_root(
    m: FloatArray, n_s: FloatArray, n_c: FloatArray, stable_target: FloatArray, candidate_target: FloatArray
) -> FloatArray:
    """The middle real root of :func:`_cleared_condition` with terms ``S - n_s p`` and
    ``C - n_c (p + m)`` (``S``, ``C``: ``stable_target``, ``candidate_target``), in closed form.

    The cubic's leading coefficient ``n_s + n_c`` is positive and the condition falls through
    zero inside the bracket, which a cubic does only at the middle of three real roots; the
    trigonometric form gives that root as ``2 sqrt(-P/3) cos(phi/3 - 2 pi/3)`` of the depressed
    cubic ``t^3 + P t + Q``. Rounding (near a double root the arccosine is ill-conditioned)
    leaves it a start, not an answer: Newton polishes it, and NaN (no requests, one real root
    through rounding) falls back to the bracket's middle there.

    The inputs keep their own shapes (the margin and the request counts are per look, the
    targets per alternative too): the terms of the counts and the margin alone are computed once
    per look and broadcast, the same operations on the same numbers as on the full grid.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = candidate_target - n_c * m
        lead = n_s + n_c
        falling = 1 - 2 * m
        b = (-n_s * falling - stable_target - k - n_c) / lead
        c = (-n_s * m * (1 - m) + stable_target * falling + k) / lead
        d = stable_target * m * (1 - m) / lead
        # Products, not powers: numpy's float power of a negative base costs a hundred times more.
        linear = c - b * b / 3
        constant = 2 * b * b * b / 27 - b * c / 3 + d
        radius = np.sqrt(-linear / 3)
        cosine = -constant / (2 * radius * radius * radius)
        angle = np.arccos(np.minimum(np.maximum(cosine, -1.0), 1.0)) / 3
        root = 2 * radius * np.cos(angle - 2 * math.pi / 3) - b / 3
    return np.asarray(root, dtype=np.float64)


def _start(root: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    return np.asarray(np.where(np.isfinite(root), root, (low + high) / 2), dtype=np.float64)


def restricted_rate(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
) -> FloatArray:
    """The stable rate of the most likely pair exactly on the margin (``p_c = p_s + margin``).

    The log-likelihood is concave in ``p_s`` where both rates are inside ``(0, 1)``, so its score is
    decreasing and a safeguarded Newton search finds the unique maximum.
    """
    # Each array keeps its shape (a path's counts against a batch of margins): the same numbers.
    x_s, n_s, x_c, n_c, m = (
        np.asarray(v, dtype=np.float64)
        for v in (stable_events, stable_exposure, candidate_events, candidate_exposure, margin)
    )

    def score(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        shifted = p + m
        return _cleared_condition(p, shifted, n_s, n_c, x_s - n_s * p, x_c - n_c * shifted)

    def value(p: FloatArray) -> FloatArray:
        shifted = p + m
        return _cleared_value(p, shifted, x_s - n_s * p, x_c - n_c * shifted)

    low, high = _rate_bounds(m)
    return newton_root(score, low, high, _start(_middle_root(m, n_s, n_c, x_s, x_c), low, high), value)


def least_favourable_rate(
    alternative_stable: ArrayLike,
    alternative_candidate: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
) -> FloatArray:
    """The stable rate ``p`` of the projection of ``(q_s, q_c)`` onto the margin.

    It solves ``n_s a_s + n_c a_c = 0`` with ``a_v = (q_v - p_v) / (p_v (1 - p_v))``, the first-order
    condition of the Kullback-Leibler distance; the root lies between ``q_s`` and ``q_c - margin``
    (where the two terms change sign), on either side of the margin, and each term is decreasing
    in ``p`` everywhere (its derivative is ``-((p - q)^2 + q (1 - q)) / (p (1 - p))^2``).
    """
    # Each input keeps its own shape (the grid's pairs against one look's counts and margin):
    # what depends on the look alone is computed once per look, the same numbers as broadcast.
    q_s, q_c, n_s, n_c, m = (
        np.asarray(v, dtype=np.float64)
        for v in (alternative_stable, alternative_candidate, stable_exposure, candidate_exposure, margin)
    )

    def condition(p: FloatArray) -> tuple[FloatArray, FloatArray]:
        shifted = p + m
        return _cleared_condition(p, shifted, n_s, n_c, n_s * (q_s - p), n_c * (q_c - shifted))

    def value(p: FloatArray) -> FloatArray:
        shifted = p + m
        return _cleared_value(p, shifted, n_s * (q_s - p), n_c * (q_c - shifted))

    floor, ceiling = _rate_bounds(m)
    unshifted = q_c - m
    low = np.maximum(np.minimum(q_s, unshifted), floor)
    high = np.minimum(np.maximum(q_s, unshifted), ceiling)
    root = _middle_root(m, n_s, n_c, n_s * q_s, n_c * q_c)
    return newton_root(condition, low, high, _start(root, low, high), value)
