"""Evidence on ``p_c - p_s`` against an absolute margin ``m``, whatever the stable's rate.

"Worse" (Fail) is tested against the null ``p_c <= p_s + m`` and "within" (Pass) against
``p_c >= p_s + m``, each for every stable rate ``p_s``, which the operator does not know. An
average of likelihood ratios, each alternative against its projection onto the margin, is an
e-value for that whole composite null, so no share of alpha goes to bounding ``p_s`` (the exact
part). A mixture SPRT on the observed difference (the score part) joins once both versions have
events enough, handed over at a look fixed before its outcomes, so the e-value depends on the
path of looks. :mod:`.risk_difference_bounds` inverts these tests into the interval status shows.

Proof, the earlier construction and measured cost: docs/statistics.md#risk-difference
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from .mixtures import as_float_arrays, gaussian_grid_log_evidence, log_mean_exp
from .risk_difference_rates import least_favourable_rate, restricted_rate
from .segments import SegmentStarts, carried, pooled, restarted

__all__ = [
    "EXCESS_GRID_POINTS",
    "SCORE_MIN_EVENTS",
    "SCORE_WEIGHT",
    "STABLE_RATE_GRID",
    "Direction",
    "exact_log_evidence",
    "least_favourable_rate",
    "restricted_rate",
    "risk_difference_final_log_evidence",
    "risk_difference_log_evidence",
    "score_log_evidence",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
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
SCORE_WEIGHT: Final = 0.3
"""Weight of the score e-value in the average; the exact grid gets the rest. Any fixed weights
keep the average valid; 0.3 was measured to cost the exact part little at 1 rps while letting the
score part decide at the first look at 1000 rps (benchmarks/README.md)."""
SCORE_MIN_EVENTS: Final = 10.0
"""Expected events (and non-events) per version at the restricted pair before the score part
counts: below it the normal approximation of a rate's error is too kind to a few early errors."""


def _sign(side: Side) -> FloatArray | float:
    if isinstance(side, str):
        return 1.0 if side == "greater" else -1.0
    return np.asarray(side, dtype=np.float64)


def _scale(margin: FloatArray) -> FloatArray:
    return np.asarray(np.maximum(np.abs(margin), SMALLEST_SCALE), dtype=np.float64)


def _alternatives(margin: FloatArray, sign: FloatArray | float) -> tuple[FloatArray, FloatArray, BoolArray]:
    """The grid's pairs, shape ``(pairs, *margin.shape)``, and where each one fits.

    A pair fits where its candidate rate is inside ``(0, 1)``; the others keep their prior weight
    with an e-value of zero (the average divides by the whole grid), which keeps the average an
    e-value whatever the margin.
    """
    extra = (1,) * margin.ndim
    grid = (len(STABLE_RATE_GRID), EXCESS_GRID_POINTS, *margin.shape)
    start = _scale(margin) / 4
    steps = np.linspace(0.0, 1.0, EXCESS_GRID_POINTS).reshape((1, -1, *extra))
    distance = start * (MAX_EXCESS / start) ** steps
    stable = np.broadcast_to(np.asarray(STABLE_RATE_GRID).reshape((-1, 1, *extra)), grid)
    candidate = np.broadcast_to(stable + margin + sign * distance, grid)
    pairs = (grid[0] * grid[1], *margin.shape)
    fits = (candidate > 0) & (candidate < 1)
    return (
        np.asarray(stable.reshape(pairs), dtype=np.float64),
        np.asarray(np.clip(candidate, 1e-9, 1 - 1e-9).reshape(pairs), dtype=np.float64),
        np.asarray(fits.reshape(pairs), dtype=np.bool_),
    )


def _exact_log_ratios(
    x_s: FloatArray,
    n_s: FloatArray,
    x_c: FloatArray,
    n_c: FloatArray,
    m: FloatArray,
    sign: FloatArray | float,
) -> FloatArray:
    """``log q(data) / p*(data)`` for every pair of the grid, shape ``(pairs, *counts.shape)``,
    ``-inf`` where a pair does not fit."""
    q_s, q_c, fits = _alternatives(m, sign if isinstance(sign, float) else np.broadcast_to(sign, m.shape))
    p = least_favourable_rate(q_s, q_c, n_s, n_c, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (
            special.xlogy(x_s, q_s / p)
            + special.xlogy(n_s - x_s, (1 - q_s) / (1 - p))
            + special.xlogy(x_c, q_c / (p + m))
            + special.xlogy(n_c - x_c, (1 - q_c) / (1 - p - m))
        )
    return np.asarray(np.where(fits & ~np.isnan(log_ratio), log_ratio, -np.inf), dtype=np.float64)


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
    x_s, n_s, x_c, n_c, m = as_float_arrays(
        stable_events, stable_exposure, candidate_events, candidate_exposure, margin
    )
    sign = _sign(direction)
    if segment_starts:
        seg_x_s, seg_n_s, seg_x_c, seg_n_c = (restarted(v, segment_starts) for v in (x_s, n_s, x_c, n_c))
        served = (seg_n_s > 0) & (seg_n_c > 0)
        ratios = np.where(served, _exact_log_ratios(seg_x_s, seg_n_s, seg_x_c, seg_n_c, m, sign), 0.0)
        return log_mean_exp(carried(ratios, segment_starts))
    return log_mean_exp(_exact_log_ratios(x_s, n_s, x_c, n_c, m, sign))


def _opened(p: FloatArray, n_s: FloatArray, n_c: FloatArray, m: FloatArray) -> BoolArray:
    """Whether the score part's gate is open at the restricted stable rate ``p``."""
    expected = np.minimum.reduce([n_s * p, n_s * (1 - p), n_c * (p + m), n_c * (1 - p - m)])
    return np.asarray(expected >= SCORE_MIN_EVENTS, dtype=np.bool_)


def _score(
    x_s: FloatArray,
    n_s: FloatArray,
    x_c: FloatArray,
    n_c: FloatArray,
    m: FloatArray,
    direction: Side,
    restricted: FloatArray | None = None,
    starts: SegmentStarts = (),
) -> tuple[FloatArray, BoolArray]:
    """The score part's log e-value ignoring its gate, and whether the gate is open.
    ``restricted`` is :func:`restricted_rate` of these counts when the caller has it already.
    With ``starts`` the counts are a path and the segments' differences are pooled by precision
    (:func:`.segments.pooled`), at the restricted pair of the whole path so far."""
    p = restricted_rate(x_s, n_s, x_c, n_c, m) if restricted is None else restricted
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = p * (1 - p) / n_s + (p + m) * (1 - p - m) / n_c
        excess = x_c / n_c - x_s / n_s - m
        if starts:
            seg = [restarted(v, starts) for v in (x_s, n_s, x_c, n_c)]
            excess, variance = pooled(
                seg[2] / seg[3] - seg[0] / seg[1] - m,
                seg[3],
                seg[1],
                (p + m) * (1 - p - m),
                p * (1 - p),
                starts,
            )
    log_e = gaussian_grid_log_evidence(excess * _sign(direction), variance, _scale(m), "greater")
    return log_e, _opened(p, n_s, n_c, m)


def score_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
    direction: Direction,
) -> FloatArray:
    """Log mixture-SPRT evidence on the risk difference, ``-inf`` until both versions have data enough.

    The priors on the distance from the margin are half-normal with scales of 1, 4, 16 and 64
    margins, three quarters of the weight on the margin's (:func:`.mixtures.gaussian_grid_log_evidence`): the margin says which effects
    matter, but a regression far past it must not wait for a prior sized for effects near it.
    """
    x_s, n_s, x_c, n_c, m = as_float_arrays(
        stable_events, stable_exposure, candidate_events, candidate_exposure, margin
    )
    log_e, opened = _score(x_s, n_s, x_c, n_c, m, direction)
    return np.asarray(np.where(opened, log_e, -np.inf), dtype=np.float64)


def _ready(n_s: FloatArray, n_c: FloatArray, m: FloatArray) -> BoolArray:
    """Whether request counts alone put the score in its asymptotic regime: each version has
    served enough requests to expect ``SCORE_MIN_EVENTS`` events (and non-events) at a rate of
    the margin's size, whatever the error rates turn out to be."""
    scale = _scale(m)
    return np.asarray(np.minimum(n_s, n_c) * np.minimum(scale, 1 - scale) >= SCORE_MIN_EVENTS, dtype=np.bool_)


def _handover(opened: BoolArray, ready: BoolArray) -> IntArray:
    """Per path, the look from which the score's share follows the score (the number of looks if
    none): the first look that is ``ready``, or the one after the gate first opened.

    Both are known before the look's outcomes (which requests failed) are: a look's request
    counts do not depend on its errors, and the gate of the look before is in the past. That is
    what keeps the hand-over from picking a look at which the score happened to jump.
    """
    looks = opened.shape[-1]
    after_opened = np.concatenate((np.zeros_like(opened[..., :1]), opened[..., :-1]), axis=-1)
    due = ready | after_opened
    return np.asarray(np.where(due.any(axis=-1), np.argmax(due, axis=-1), looks), dtype=np.int64)


def _combine(
    exact: FloatArray,
    score: FloatArray,
    exact_before: FloatArray,
    score_before: FloatArray,
    handed_over: BoolArray,
) -> FloatArray:
    """Both parts averaged, the score's share handed over at look ``s`` (:func:`_handover`).

    Before ``s`` the score's share rides on the exact part, so the whole e-value is the exact
    one; from ``s`` on, that share is the exact e-value at the look before, times the score's
    growth since then, ``L_t / L_(s-1)``. Under the null the growth has expectation at most 1
    given the past (the mixture SPRT is a supermartingale, so its ratio to an earlier value is
    one too, with the posterior at that look as its prior), and since ``s`` is fixed before look
    ``s``'s outcomes, the average stays a supermartingale across the hand-over. A hand-over at
    the first look (high traffic) gives exactly the fixed average ``(1 - w) A_t + w L_t``.
    """
    with np.errstate(invalid="ignore"):
        share = np.where(handed_over, exact_before + score - score_before, exact)
    return np.asarray(
        np.logaddexp(math.log1p(-SCORE_WEIGHT) + exact, math.log(SCORE_WEIGHT) + share), dtype=np.float64
    )


def _paths(*values: ArrayLike) -> tuple[FloatArray, ...]:
    """Counts and margins broadcast to one shape with a looks axis last (a scalar is one look)."""
    return tuple(np.atleast_1d(v) for v in as_float_arrays(*values))


def _parts(
    x_s: FloatArray,
    n_s: FloatArray,
    x_c: FloatArray,
    n_c: FloatArray,
    m: FloatArray,
    direction: Side,
    restricted: FloatArray | None = None,
    starts: SegmentStarts = (),
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Exact and (ungated) score log e-values, 0 where a version has no requests, and the gate."""
    served = (n_s > 0) & (n_c > 0)
    exact = np.where(served, exact_log_evidence(x_s, n_s, x_c, n_c, m, direction, starts), 0.0)
    score, opened = _score(x_s, n_s, x_c, n_c, m, direction, restricted, starts)
    return np.asarray(exact, dtype=np.float64), score, np.asarray(opened & served, dtype=np.bool_)


def risk_difference_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
    direction: Direction,
    segment_starts: SegmentStarts = (),
) -> FloatArray:
    """Log e-value that ``p_c > p_s + margin`` ("greater") or ``<`` ("less") at every look.

    The counts are cumulative along a path of looks, the last axis (a scalar is one look); the
    value at a look depends on the looks before it through :func:`_combine`, so pass the whole
    path the operator has seen, with one margin for all of it. 0 (an e-value of 1) at looks where
    a version has served no requests yet. ``segment_starts``: looks where the traffic split
    changed (:mod:`.segments`); each segment is then counted at its own split.
    """
    shape = as_float_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure, margin)[
        0
    ].shape
    x_s, n_s, x_c, n_c, m = _paths(
        stable_events, stable_exposure, candidate_events, candidate_exposure, margin
    )
    exact, score, opened = _parts(x_s, n_s, x_c, n_c, m, direction, None, tuple(segment_starts))
    tau = _handover(opened, _ready(n_s, n_c, m))[..., None]
    before = np.maximum(tau - 1, 0)
    at_start = tau == 0
    exact_before = np.where(at_start, 0.0, np.take_along_axis(exact, before, axis=-1))
    score_before = np.where(at_start, 0.0, np.take_along_axis(score, before, axis=-1))
    handed_over = np.arange(exact.shape[-1]) >= tau
    log_e = _combine(exact, score, exact_before, score_before, handed_over)
    served = (n_s > 0) & (n_c > 0)
    return np.asarray(np.where(served, log_e, 0.0).reshape(shape), dtype=np.float64)


def _looks_picker(pick: IntArray) -> Callable[[FloatArray], FloatArray]:
    """``np.take_along_axis(values, pick, axis=-1)`` for values shaped like ``pick`` but for the
    last axis, with the index built once for all of them: the evidence is evaluated a few times
    per interval search, and numpy's generic index building was a tenth of it."""
    batch, count = pick.shape[:-1], pick.shape[-1]
    rows = np.arange(math.prod(batch)).reshape((-1, 1))
    columns = pick.reshape((-1, count))

    def at_looks(values: FloatArray) -> FloatArray:
        flat = values.reshape((-1, values.shape[-1]))
        return np.asarray(flat[rows, columns].reshape((*batch, count)), dtype=np.float64)

    return at_looks


def risk_difference_final_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: ArrayLike,
    direction: Side,
) -> FloatArray:
    """:func:`risk_difference_log_evidence` at the last look only, without the exact part elsewhere.

    The hand-over needs only the restricted rate at every look; the grid of likelihood ratios,
    the costly part, is needed at two looks at most (the last and the one before the hand-over,
    if the hand-over was mid-path). This is
    what makes the confidence sequence, which evaluates the evidence at dozens of margins, cheap
    on a long path. The result drops the looks axis. ``direction`` may be an array of signs
    shaped like the counts (as the margin may), to compute both sides in one pass.
    """
    x_s, n_s, x_c, n_c, m, sign = _paths(
        stable_events, stable_exposure, candidate_events, candidate_exposure, margin, _sign(direction)
    )
    served = (n_s > 0) & (n_c > 0)
    ready = _ready(n_s, n_c, m)
    last = x_s.shape[-1] - 1
    # The gate matters only before the first ready look (the hand-over is there at the latest),
    # so the restricted rate, a root search per look, is found there and at the last look only.
    first_ready = np.where(ready.any(axis=-1), np.argmax(ready, axis=-1), last + 1)
    span = max(1, int(first_ready.max(initial=0)))
    columns = np.arange(span) if span > last else np.append(np.arange(span), last)
    counts = [v[..., columns] for v in (x_s, n_s, x_c, n_c, m)]
    restricted = restricted_rate(*counts)
    gate = _opened(
        restricted[..., :span], counts[1][..., :span], counts[3][..., :span], counts[4][..., :span]
    )
    tau = _handover(gate & served[..., :span], ready[..., :span])[..., None]
    tau = np.where(tau >= span, np.where(span > last, last + 1, first_ready[..., None]), tau)
    at_start, handed_over = tau[..., 0] == 0, tau[..., 0] <= last
    pick = np.concatenate((np.maximum(tau - 1, 0), np.full_like(tau, last)), axis=-1)
    if not (handed_over & ~at_start).any():
        # No hand-over mid-path (low traffic: none yet; high traffic: at the first look), so the
        # look before it does not enter the e-value and its grid, half the cost, is skipped.
        pick = pick[..., 1:]
    at_looks = _looks_picker(pick)
    picked = [at_looks(v) for v in (x_s, n_s, x_c, n_c, m, sign)]
    restricted_at = _looks_picker(np.minimum(pick, columns.size - 1))(restricted)
    x_s_at, n_s_at, x_c_at, n_c_at, m_at, sign_at = picked
    exact, score, _ = _parts(x_s_at, n_s_at, x_c_at, n_c_at, m_at, sign_at, restricted_at)
    before = pick.shape[-1] == 2
    log_e = _combine(
        exact[..., -1],
        score[..., -1],
        np.where(at_start | (not before), 0.0, exact[..., 0]),
        np.where(at_start | (not before), 0.0, score[..., 0]),
        handed_over,
    )
    return np.asarray(np.where(served[..., -1], log_e, 0.0), dtype=np.float64)
