"""Anytime-valid evidence about the mean of non-negative values known only by bucket.

A shadow comparison counts, per compared request, whether the classes agreed (a value of 0 or 1)
and, per score, the absolute difference from the stable's score (a Prometheus histogram: each
value is known to lie in its bucket, ``(lower edge, upper edge]``). Both margins are on a mean:
the disagreement rate at most ``1 - minAgreement``, the mean difference at most
``maxScoreDifference``.

Each side is a betting e-process (testing by betting, Waudby-Smith and Ramdas 2024, "Estimating
means of bounded random variables by betting", JRSS-B): for the null "mean <= m" of values
``X >= 0``, the wealth ``prod(1 + t (X/m - 1))`` with ``0 <= t < 1`` is a non-negative
supermartingale, whatever the values' law, as each factor has expectation ``1 + t (mean/m - 1) <=
1``; for the null "mean >= m" of values ``0 <= X <= B``, so is ``prod(1 + t (m - X)/(B - m))``.
Each factor is monotone in ``X``, so replacing a value by the end of its bucket that makes the
factor smaller (the lower edge for "above", the upper edge for "within") gives a wealth never
larger than the true one: the test stays valid on bucket counts, and only loses power to the
buckets' width. The bets ``t`` are averaged over a fixed grid (an average of e-processes is one),
so no tuning to the effect is needed. The product does not depend on the order of the values, so
cumulative counts at the last look are all it needs; by Ville's inequality the wealth reaches
``1/alpha`` under the null with probability at most ``alpha``, however often it is looked at.

The confidence sequence for the mean is every ``m`` neither side rejects at ``alpha / 2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["BETS", "above_log_evidence", "mean_interval", "within_log_evidence"]

FloatArray = npt.NDArray[np.float64]

BETS: Final = np.array([0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9])
"""The fractions of wealth bet per value, averaged with equal weights: small bets win on effects
near the margin, large ones on clear effects in few values; the average costs at most
``log(len(BETS))`` against the best one in hindsight."""
_SEARCH_STEPS: Final = 50


def _log_mean_exp(values: FloatArray) -> float:
    top = float(np.max(values))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.mean(np.exp(values - top))))


def _as_arrays(ends: npt.ArrayLike, counts: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return np.asarray(ends, dtype=np.float64), np.asarray(counts, dtype=np.float64)


def above_log_evidence(lower: npt.ArrayLike, counts: npt.ArrayLike, margin: float) -> float:
    """Log e-value against "the mean is at most ``margin``" from ``counts[i]`` values known to be
    at least ``lower[i]`` (and non-negative)."""
    ends, weights = _as_arrays(lower, counts)
    used = weights > 0
    if margin <= 0 or not used.any():
        return 0.0
    factors = 1.0 + BETS[:, None] * (ends[None, used] / margin - 1.0)
    return _log_mean_exp(np.sum(weights[None, used] * np.log(factors), axis=-1))


def within_log_evidence(upper: npt.ArrayLike, counts: npt.ArrayLike, margin: float, bound: float) -> float:
    """Log e-value against "the mean is at least ``margin``" from ``counts[i]`` values known to be
    at most ``upper[i]``, every value lying in ``[0, bound]``. A value past ``bound`` (an upper
    end above it, e.g. the +Inf bucket) leaves no bound to bet against: no evidence at all
    (``-inf``), ever. A margin at ``bound`` or above holds of any such values (``inf``)."""
    ends, weights = _as_arrays(upper, counts)
    used = weights > 0
    if bool(np.any(ends[used] > bound)):
        return -math.inf
    if margin >= bound:
        return math.inf
    if not used.any():
        return 0.0
    factors = 1.0 + BETS[:, None] * (margin - ends[None, used]) / (bound - margin)
    return _log_mean_exp(np.sum(weights[None, used] * np.log(factors), axis=-1))


def mean_interval(
    lower: npt.ArrayLike, upper: npt.ArrayLike, counts: npt.ArrayLike, bound: float, alpha: float
) -> tuple[float, float]:
    """The ``1 - alpha`` confidence sequence for the mean at the last look: every margin neither
    side rejects at ``alpha / 2``. The evidence above a margin falls as the margin grows and the
    evidence within it rises, so each end is one bisection. The upper end is infinite when a
    value lies past ``bound``."""
    threshold = math.log(2 / alpha)
    tiny = bound * 1e-9

    def rejected_below(margin: float) -> bool:
        return above_log_evidence(lower, counts, margin) >= threshold

    def rejected_above(margin: float) -> bool:
        return within_log_evidence(upper, counts, margin, bound) >= threshold

    low = _edge(rejected_below, bound, tiny) if rejected_below(tiny) else 0.0
    if not rejected_above(bound - tiny):
        past_bound = within_log_evidence(upper, counts, bound / 2, bound) == -math.inf
        return low, math.inf if past_bound else bound
    return low, _edge(rejected_above, low, bound - tiny)


def _edge(rejected: Callable[[float], bool], kept: float, refused: float) -> float:
    """The margin between one `kept` (not rejected) and one `refused` (rejected), by bisection:
    the evidence is monotone in the margin, so the rejected margins are one side of it."""
    for _ in range(_SEARCH_STEPS):
        middle = (kept + refused) / 2
        if rejected(middle):
            refused = middle
        else:
            kept = middle
    return refused
