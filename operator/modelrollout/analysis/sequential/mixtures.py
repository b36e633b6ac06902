"""Mixture martingales on one statistic: the building blocks the two-version tests share.

The normal mixture SPRT on a running mean (valid asymptotically, exact for Gaussian data) and the
beta-binomial confidence sequence for one version's rate. Both are functions of cumulative
counts only, so the operator recomputes them at every look and keeps no state.

References
----------
Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm.
Johari, Pekelis, Walsh (2017). Always valid inference.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from ..search import tree_bisect

__all__ = ["as_float_arrays", "binomial_confidence_sequence", "gaussian_log_evidence"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
Direction = Literal["greater", "less"]

_BISECTION_STEPS: Final = 48


def as_float_arrays(*values: ArrayLike) -> tuple[FloatArray, ...]:
    """Counts (or rates, margins) as float arrays of one broadcast shape, for the vectorised tests."""
    return tuple(np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values))


def binomial_confidence_sequence(
    events: ArrayLike, exposure: ArrayLike, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """A ``1 - alpha`` confidence sequence for one version's event rate (events per request).

    The beta-binomial mixture martingale (Robbins 1970) inverted by bisection; valid at every
    look. Used for the bounds of quantiles and of drift distances.
    """
    x = np.asarray(events, dtype=np.float64)
    n = np.asarray(exposure, dtype=np.float64)
    x, n = np.broadcast_arrays(x, n)
    n = np.maximum(n, x)
    # Under the uniform prior every count 0..n has marginal probability 1/(n + 1); a rate p is
    # rejected where that exceeds the binomial probability of the count by 1/alpha.
    log_choose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    log_bound = -np.log1p(n) - log_choose + float(np.log(alpha))
    estimate = np.where(n > 0, x / np.maximum(n, 1e-300), 0.5)

    # Both ends in one search (the first row the lower end): a rejected rate is outside, so the
    # lower end moves up past it and the upper end down.
    toward_zero = np.asarray([True, False]).reshape((2, *(1,) * estimate.ndim))

    def moves_up(rates: FloatArray) -> npt.NDArray[np.bool_]:
        rejected = special.xlogy(x, rates) + special.xlog1py(n - x, -rates) <= log_bound
        return np.asarray(rejected == toward_zero, dtype=np.bool_)

    # Bisection from the estimate outwards: the lower end's bracket is [0, estimate], the upper's
    # [estimate, 1]; ``tree_bisect`` walks both with bisection's own midpoints.
    outside = np.stack((np.zeros_like(estimate), np.ones_like(estimate)))
    inside = np.broadcast_to(estimate, outside.shape)
    brackets = np.where(toward_zero, outside, inside), np.where(toward_zero, inside, outside)
    low_end, high_end = tree_bisect(moves_up, *brackets, _BISECTION_STEPS)
    low = np.where(n > 0, high_end[0], 0.0)
    high = np.where(n > 0, low_end[1], 1.0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def gaussian_log_evidence(
    difference: ArrayLike, variance: ArrayLike, prior_scale: ArrayLike, direction: Direction
) -> FloatArray:
    """Log e-value against ``mean <= 0`` ("greater") or ``>= 0`` ("less") for a running mean.

    The mixture SPRT of Johari, Pekelis and Walsh (2017, "Always valid inference") with a
    half-normal prior of scale ``prior_scale`` on the alternative side: for an estimate
    ``difference`` with variance ``variance`` the likelihood ratio integrates in closed form to
    ``2 sqrt(V / (V + tau^2)) exp(d^2 tau^2 / (2 V (V + tau^2))) Phi(d tau / sqrt(V (V + tau^2)))``.
    It is exact for Gaussian data and valid asymptotically (central limit) for means of bounded
    data such as binned log latencies; 0 where the variance is unknown.
    """
    d = np.asarray(difference, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    tau2 = np.asarray(prior_scale, dtype=np.float64) ** 2
    if direction == "less":
        d = -d
    usable = np.isfinite(d) & np.isfinite(v) & (v > 0) & np.isfinite(tau2) & (tau2 > 0)
    v = np.where(usable, v, 1.0)
    d = np.where(usable, d, 0.0)
    tau2 = np.where(usable, tau2, 1.0)
    with np.errstate(divide="ignore"):
        log_e = (
            math.log(2)
            + 0.5 * np.log(v / (v + tau2))
            + d**2 * tau2 / (2 * v * (v + tau2))
            + special.log_ndtr(d * np.sqrt(tau2) / np.sqrt(v * (v + tau2)))
        )
    return np.asarray(np.where(usable, log_e, 0.0), dtype=np.float64)
