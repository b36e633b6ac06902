"""Anytime-valid evidence on the candidate/stable rate ratio: the conditional binomial.

Given both versions' exposures, each event (an error, a slow request) belongs to the candidate
with a probability that depends on the rate ratio alone, so the stable's unknown rate drops out
of a non-inferiority hypothesis on the ratio. A beta mixture of likelihood ratios on that share
is a function of the cumulative counts, recomputed at every look with no state kept, and valid
however often the operator looks (Ville's inequality).

Proof and references: docs/statistics.md#rate-ratio

References
----------
Howard, Ramdas, McAuliffe, Sekhon (2021). Time-uniform, nonparametric, nonasymptotic confidence
sequences. Annals of Statistics 49(2).
Lindon, Malek (2022). Anytime-valid inference for multinomial count data. NeurIPS.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from .inversion import confidence_ends

__all__ = [
    "MARGIN_SPREADS",
    "MIXTURE_CONCENTRATIONS",
    "conditional_log_evidence",
    "mixture_concentrations",
    "null_share",
    "rate_ratio_confidence_sequence",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
BoolArray = npt.NDArray[np.bool_]
Direction = Literal["greater", "less"]

MARGIN_SPREADS: Final[tuple[float, ...]] = (1.0, 3.0, 9.0, 27.0)
"""Prior spreads, in margin widths, of the beta priors mixed over ``theta``: a geometric grid, so
that an effect far past the margin finds a prior of its size (docs/statistics.md#adaptive-mixtures)."""
MIXTURE_CONCENTRATIONS: Final[tuple[float, ...]] = (4.0, 128.0, 4096.0, 131072.0)
"""Concentrations ``a + b`` used instead when the margin is zero: one prior is tuned to one
sample size, and the operator sees anything from tens of events (1 rps, a 5% canary) to hundreds
of thousands (1000 rps, slow-request counts)."""
_MAX_CONCENTRATION: Final = 1e7
_LOG_RATIO_EDGE: Final = 12.0


def null_share(ratio: ArrayLike, candidate_exposure: ArrayLike, stable_exposure: ArrayLike) -> FloatArray:
    """The candidate's share of events when its rate is ``ratio`` times the stable's."""
    r = np.asarray(ratio, dtype=np.float64)
    n_c = np.asarray(candidate_exposure, dtype=np.float64)
    n_s = np.asarray(stable_exposure, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        share = np.where(np.isinf(r), 1.0, r * n_c / (r * n_c + n_s))
    return np.asarray(share, dtype=np.float64)


def _log_tail(a: FloatArray, b: FloatArray, theta0: FloatArray, upper: BoolArray | bool) -> FloatArray:
    """Log of the beta(a, b) mass on the alternative side of ``theta0`` (above it where ``upper``).

    The upper tail is computed as the lower tail of the mirrored beta: scipy's ``betaincc`` is
    about ten times slower than ``betainc`` for the same value, and the benchmark calls this
    millions of times. ``upper`` may differ per element, so both sides of a confidence sequence
    are searched in one call.
    """
    with np.errstate(divide="ignore"):
        if isinstance(upper, bool):
            if upper:
                return np.asarray(np.log(special.betainc(b, a, 1 - theta0)), dtype=np.float64)
            return np.asarray(np.log(special.betainc(a, b, theta0)), dtype=np.float64)
        first, second = np.where(upper, b, a), np.where(upper, a, b)
        at = np.where(upper, 1 - theta0, theta0)
        return np.asarray(np.log(special.betainc(first, second, at)), dtype=np.float64)


def mixture_concentrations(theta0: FloatArray, margin_width: FloatArray | None) -> list[FloatArray]:
    """Beta concentrations whose spreads match the effects a rollout cares about.

    ``margin_width`` is the distance in ``theta`` between "no change" and the margin. Priors with
    spreads of one to 27 margin widths put the mixture's weight on effects from just past the
    margin to far past it, which is where a rollback must be fast. Where the width is
    zero or unknown (NaN), a fixed grid covering all sample sizes is used instead.
    """
    width = np.full(theta0.shape, np.nan) if margin_width is None else np.abs(margin_width)
    variance = theta0 * (1 - theta0)
    concentrations = []
    for spread, fallback in zip(MARGIN_SPREADS, MIXTURE_CONCENTRATIONS, strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            c = variance / (spread * width) ** 2
        usable = np.isfinite(c) & (width > 0)
        concentrations.append(np.clip(np.where(usable, c, fallback), 1.0, _MAX_CONCENTRATION))
    return concentrations


def conditional_log_evidence(
    candidate_events: ArrayLike,
    total_events: ArrayLike,
    theta0: ArrayLike,
    direction: Direction,
    margin_width: ArrayLike | None = None,
) -> FloatArray:
    """Log e-value against ``theta <= theta0`` ("greater") or ``theta >= theta0`` ("less").

    The mixture is over beta priors centred on ``theta0`` and truncated to the alternative side:
    each truncated component is a supermartingale under the whole one-sided null (a likelihood
    ratio against the boundary shrinks for any ``theta`` beyond it), so their average is too.
    Returns 0 (an e-value of 1) where there are no events or ``theta0`` is degenerate.
    """
    return _conditional(candidate_events, total_events, theta0, direction == "greater", margin_width)


def _conditional(
    candidate_events: ArrayLike,
    total_events: ArrayLike,
    theta0: ArrayLike,
    upper: BoolArray | bool,
    margin_width: ArrayLike | None = None,
) -> FloatArray:
    """:func:`conditional_log_evidence` with the direction per element (``upper``: "greater")."""
    x = np.asarray(candidate_events, dtype=np.float64)
    k = np.asarray(total_events, dtype=np.float64)
    t0 = np.asarray(theta0, dtype=np.float64)
    x, k, t0 = np.broadcast_arrays(x, k, t0)
    valid = (k > 0) & (t0 > 0) & (t0 < 1) & np.isfinite(k) & np.isfinite(t0)
    t0c = np.where(valid, t0, 0.5)
    xc = np.where(valid, np.clip(x, 0, k), 0.0)
    kc = np.where(valid, k, 0.0)
    null_loglik = special.xlogy(xc, t0c) + special.xlog1py(kc - xc, -t0c)
    width = (
        None
        if margin_width is None
        else np.broadcast_to(np.asarray(margin_width, dtype=np.float64), t0c.shape)
    )
    concentrations = mixture_concentrations(t0c, width)
    components = []
    for concentration in concentrations:
        a = concentration * t0c
        b = concentration * (1 - t0c)
        log_marginal = special.betaln(a + xc, b + kc - xc) - special.betaln(a, b)
        log_truncation = _log_tail(a + xc, b + kc - xc, t0c, upper) - _log_tail(a, b, t0c, upper)
        components.append(log_marginal + log_truncation - null_loglik)
    stacked = np.stack(components)
    # logsumexp by hand: scipy's generic one costs more than the three components on the small
    # arrays of one rollout.
    largest = stacked.max(axis=0)
    finite = np.isfinite(largest)
    shift = np.where(finite, largest, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.exp(stacked - shift).sum(axis=0)) + shift
    log_e = np.where(finite, total, largest) - np.log(len(concentrations))
    return np.asarray(np.where(valid, log_e, 0.0), dtype=np.float64)


def rate_ratio_confidence_sequence(
    candidate_events: ArrayLike,
    stable_events: ArrayLike,
    candidate_exposure: ArrayLike,
    stable_exposure: ArrayLike,
    alpha: float,
) -> tuple[FloatArray, FloatArray]:
    """A ``1 - alpha`` confidence sequence for the candidate/stable rate ratio.

    It is the set of ratios neither one-sided test rejects at ``alpha / 2``, so it agrees with the
    verdicts by construction. Ends are 0 or inf where the data cannot bound them. The log ratio's
    ends are found by :func:`.inversion.confidence_ends` to a hundredth of its standard error,
    each at a ratio whose evidence rejects, so the sequence contains the exact inversion; 48
    bisection steps were a quarter of a rollout's analysis.
    """
    x_c, x_s, n_c, n_s = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=np.float64)
            for v in (candidate_events, stable_events, candidate_exposure, stable_exposure)
        )
    )
    total = x_c + x_s
    # The first row is the lower ("greater") end: "greater" evidence falls as the null ratio grows.
    upper_side = np.asarray([True, False]).reshape((2, *(1,) * x_c.ndim))

    def log_evidence(log_ratios: FloatArray) -> FloatArray:
        return _conditional(x_c, total, null_share(np.exp(log_ratios), n_c, n_s), upper_side)

    with np.errstate(divide="ignore", invalid="ignore"):
        # Half an event added to each count keeps the estimate and its error finite without events.
        estimate = np.log((x_c + 0.5) / n_c) - np.log((x_s + 0.5) / n_s)
        error = np.sqrt(1 / (x_c + 0.5) + 1 / (x_s + 0.5))
    usable = np.isfinite(estimate) & np.isfinite(error)
    estimate, error = np.where(usable, estimate, 0.0), np.where(usable, error, 1.0)
    ends, found, _ = confidence_ends(log_evidence, math.log(2 / alpha), estimate, error, _LOG_RATIO_EDGE)
    # Ratios of e^-12 and e^12 and beyond stand for "unbounded", as with bisection on [-12, 12].
    lower = np.where(found[0], ends[0], -_LOG_RATIO_EDGE)
    upper = np.where(found[1], ends[1], _LOG_RATIO_EDGE)
    low = np.where(lower <= -11.9, 0.0, np.exp(lower))
    high = np.where(upper >= 11.9, np.inf, np.exp(upper))
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
