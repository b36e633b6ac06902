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
from .risk_difference import risk_difference_final_log_evidence

__all__ = ["risk_difference_confidence_sequence", "risk_difference_interval_and_evidence"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

_TOLERANCE: Final = 1e-2
"""Width, in standard errors of the estimate, below which a bracket on an end stops shrinking."""
_SMALLEST_WIDTH: Final = 1e-7
"""Never narrower than this, the precision of the bisection this search replaced."""
_MAX_STEPS: Final = 16
"""A ceiling only; from the probes' bracket one to four steps were needed (1-100 rps)."""
_PROBES: Final = (0.0, 2.5, 4.0, 6.0)
"""Standard errors from the estimate at which both ends are probed in the first call, around
where the mixtures' ends fall (3-5 standard errors); each probe costs about a third of a call."""
_FAR_PROBES: Final = (12.0, 40.0)
"""Probed only when no end was found within the first probes."""
_EDGE: Final = 1.0 - 1e-6


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
    at ``alpha / 2`` stops rejecting (the "worse" evidence falls as the difference it is tested
    against grows, the "within" evidence rises), so a verdict at the margin and the interval tell
    the same story: an interval that excludes the margin comes with evidence past ``2 / alpha``
    that decides. Ends are -1 or 1 where the data cannot bound them.

    Why not bisection: each evaluation of the evidence is a few hundred numpy calls, and the
    two ends' 48 bisection steps were 90% of a rollout's analysis. Both ends are searched at once
    (one array of signs), first at probes a few standard errors from the estimate, then by
    secant steps inside the bracket the probes found, to a hundredth of a standard error, each
    step evaluating its guess and a point a hundredth beyond it so that a good guess ends it.
    Every reported end is a point whose evidence rejects, so the interval contains the exact
    inversion and stays valid whatever the precision.
    """
    lower, upper, _ = _search(stable_events, stable_exposure, candidate_events, candidate_exposure, alpha)
    return lower, upper


def risk_difference_interval_and_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    alpha: float,
    margin: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`risk_difference_confidence_sequence` and both log e-values at ``margin`` ("worse",
    then "within"), the e-values computed in the interval's first call: one call of the evidence
    fewer per rollout and tick than asking for them apart."""
    counts = (stable_events, stable_exposure, candidate_events, candidate_exposure)
    lower, upper, evidence = _search(*counts, alpha, margin)
    assert evidence is not None
    return lower, upper, evidence[0], evidence[1]


def _search(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    alpha: float,
    margin: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Both ends, and where ``margin`` is given both log e-values there (sides first)."""
    counts = as_float_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure)
    shape = counts[0].shape[:-1]
    x_s, n_s, x_c, n_c = (np.atleast_1d(v) for v in counts)
    batch = x_s.shape[:-1]
    log_threshold = math.log(2 / alpha)
    sign = np.asarray([1.0, -1.0]).reshape((2, *(1,) * len(batch)))
    path_sign = sign[..., None]

    def log_evidence(differences: FloatArray) -> FloatArray:
        return risk_difference_final_log_evidence(x_s, n_s, x_c, n_c, differences[..., None], path_sign)

    def past_threshold(log_e: FloatArray) -> FloatArray:
        """How far past the threshold ``log_e`` is, on the scale ``sqrt(2 log e)``: on it a
        mixture's evidence grows about linearly with the distance from the estimate (it is about
        ``z^2 / 2`` for ``z`` standard errors), so regula falsi converges in a few steps. The
        sign is that of ``log e - threshold``."""
        root = np.sqrt(2 * np.maximum(log_e, 0.0))
        return np.asarray(root - math.sqrt(2 * log_threshold), dtype=np.float64)

    def excess(differences: FloatArray) -> FloatArray:
        """:func:`past_threshold` at ``differences`` shaped ``(points, 2, *batch)``."""
        return past_threshold(log_evidence(differences))

    with np.errstate(divide="ignore", invalid="ignore"):
        rate_s, rate_c = x_s[..., -1] / n_s[..., -1], x_c[..., -1] / n_c[..., -1]
        pooled = (x_s[..., -1] + x_c[..., -1]) / (n_s[..., -1] + n_c[..., -1])
        error = np.sqrt(pooled * (1 - pooled) * (1 / n_s[..., -1] + 1 / n_c[..., -1]))
    estimate = np.where(np.isfinite(rate_c - rate_s), rate_c - rate_s, 0.0)
    error = np.where(np.isfinite(error), np.maximum(error, 1e-4), 1.0)
    # Probes from the side that rejects least (the estimate) to the side that rejects most; the
    # evidence is monotone along them, as bisection assumed too.
    offsets = np.asarray(_PROBES).reshape((-1, 1, *(1,) * len(batch)))
    probes = np.clip(estimate - sign * offsets * error, -_EDGE, _EDGE)
    evidence = None
    if margin is None:
        values = excess(probes)
    else:
        at_margin = np.full((1, 2, *batch), float(margin))
        log_e = log_evidence(np.concatenate((probes, at_margin)))
        values, evidence = past_threshold(log_e[:-1]), log_e[-1]
    if not (values[-1] >= 0).all():
        far = np.clip(
            estimate - sign * np.asarray(_FAR_PROBES).reshape(offsets[:2].shape) * error, -_EDGE, _EDGE
        )
        probes, values = np.concatenate((probes, far)), np.concatenate((values, excess(far)))
    if not (values[-1] >= 0).all() or (values[0] >= 0).any():
        # Rarely, an end lies beyond the probes: the bracket's ends then are the range's ends,
        # evaluated only when needed (a margin near -1 or 1 is the slowest to evaluate).
        edges = np.broadcast_to(np.stack((sign * _EDGE, -sign * _EDGE)), (2, 2, *batch))
        probes = np.concatenate((edges[:1], probes, edges[1:]))
        values = np.concatenate((excess(edges[:1]), values, excess(edges[1:])))
    rejected = values >= 0
    first = np.argmax(rejected, axis=0)[None]
    found = rejected.any(axis=0)
    inner = np.maximum(first - 1, 0)
    a, fa = (np.take_along_axis(v, first, axis=0)[0] for v in (probes, values))
    b, fb = (np.take_along_axis(v, inner, axis=0)[0] for v in (probes, values))
    open_bracket = found & (first[0] > 0)
    tolerance = np.maximum(_TOLERANCE * error, _SMALLEST_WIDTH)
    for _ in range(_MAX_STEPS):
        active = open_bracket & (np.abs(b - a) > tolerance)
        if not active.any():
            break
        # The secant's guess, and a point a tolerance beyond it towards the rejecting end: when
        # the guess is good (the scale is nearly linear) the two straddle the end and close the
        # bracket in one call; otherwise each still shrinks it as a regula falsi step would.
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = b - fb * (b - a) / (fb - fa)
        towards_a = np.sign(a - b)
        guess = np.where(np.isfinite(secant), secant, (a + b) / 2)
        guess = np.clip(guess - towards_a * tolerance / 2, np.minimum(a, b), np.maximum(a, b))
        trials = np.stack((guess, guess + towards_a * tolerance))
        trials = np.where((trials - a) * (trials - b) < 0, trials, (a + b) / 2)
        values = excess(trials)
        for trial, value in zip(trials, values, strict=True):
            inside = active & ((trial - a) * (trial - b) < 0)
            hit, missed = inside & (value >= 0), inside & (value < 0)
            a, fa = np.where(hit, trial, a), np.where(hit, value, fa)
            b, fb = np.where(missed, trial, b), np.where(missed, value, fb)
    ends = np.where(found, a, -sign * 1.0)
    lower, upper = ends[0], ends[1]
    return (
        np.asarray(np.where(lower <= -1 + 1e-5, -1.0, lower), dtype=np.float64).reshape(shape),
        np.asarray(np.where(upper >= 1 - 1e-5, 1.0, upper), dtype=np.float64).reshape(shape),
        None if evidence is None else np.asarray(evidence, dtype=np.float64).reshape((2, *shape)),
    )
