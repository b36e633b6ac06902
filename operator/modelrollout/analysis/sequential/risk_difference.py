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
from typing import Final

import numpy as np
import numpy.typing as npt

from .mixtures import as_float_arrays, gaussian_grid_log_evidence
from .risk_difference_grid import (
    EXCESS_GRID_POINTS,
    STABLE_RATE_GRID,
    ArrayLike,
    BoolArray,
    Direction,
    FloatArray,
    Side,
    _scale,
    _sign,
    exact_log_evidence,
)
from .risk_difference_rates import least_favourable_rate, restricted_rate
from .segments import SegmentStarts, pooled, restarted

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

IntArray = npt.NDArray[np.int64]
SCORE_WEIGHT: Final = 0.3
"""Weight of the score e-value in the average; the exact grid gets the rest. Any fixed weights
keep the average valid; 0.3 was measured to cost the exact part little at 1 rps while letting the
score part decide at the first look at 1000 rps (benchmarks/README.md)."""
SCORE_MIN_EVENTS: Final = 10.0
"""Expected events (and non-events) per version at the restricted pair before the score part
counts: below it the normal approximation of a rate's error is too kind to a few early errors."""


def _opened(p: FloatArray, n_s: FloatArray, n_c: FloatArray, m: FloatArray) -> BoolArray:
    """Whether the score part's gate is open at the restricted stable rate ``p``."""
    # Pairwise minima (exact whatever the order): the four terms may differ in shape.
    expected = np.minimum(np.minimum(n_s * p, n_s * (1 - p)), np.minimum(n_c * (p + m), n_c * (1 - p - m)))
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


def _at_looks(values: FloatArray, pick: IntArray, lead: int = 0) -> FloatArray:
    """``values`` at the looks ``pick`` (along the last axis) over ``pick``'s batch, with ``lead``
    axes of their own in front: values constant along the looks (a margin, a sign) are returned
    as they are, the rest are read through a broadcast view, not copied to the batch first."""
    if values.shape[-1] == 1:
        return values
    view = np.broadcast_to(values, (*values.shape[:lead], *pick.shape[:-1], values.shape[-1]))
    return np.asarray(np.take_along_axis(view, pick.reshape((1,) * lead + pick.shape), axis=-1))


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

    The counts keep their own shape (one path) while the margins and signs carry the batch of
    an interval search: every element is computed as on counts broadcast to the batch, with a
    few numpy calls fewer per evaluation (docs/statistics.md#cpu-budget).
    """
    counts = np.stack(
        np.broadcast_arrays(
            *(
                np.atleast_1d(np.asarray(v, dtype=np.float64))
                for v in (stable_events, stable_exposure, candidate_events, candidate_exposure)
            )
        )
    )
    m, sign = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (margin, _sign(direction)))
    batch = np.broadcast_shapes(counts.shape[1:-1], m.shape[:-1], sign.shape[:-1])
    looks = max(counts.shape[-1], m.shape[-1], sign.shape[-1])
    counts = np.broadcast_to(
        counts.reshape((4, *(1,) * (len(batch) + 2 - counts.ndim), *counts.shape[1:])),
        (4, *(1,) * (len(batch) + 2 - counts.ndim), *counts.shape[1:-1], looks),
    )
    _, n_s, _, n_c = counts
    served = (n_s > 0) & (n_c > 0)
    ready = _ready(n_s, n_c, m)
    last = looks - 1
    # The gate matters only before the first ready look (the hand-over is there at the latest),
    # so the restricted rate, a root search per look, is found there and at the last look only.
    first_ready = np.where(ready.any(axis=-1), np.argmax(ready, axis=-1), last + 1)
    span = max(1, int(first_ready.max(initial=0)))
    columns = np.arange(span) if span > last else np.append(np.arange(span), last)
    at_columns = counts[..., columns]
    m_columns = m if m.shape[-1] == 1 else m[..., columns]
    restricted = restricted_rate(at_columns[0], at_columns[1], at_columns[2], at_columns[3], m_columns)
    m_gate = m_columns if m_columns.shape[-1] == 1 else m_columns[..., :span]
    gate = _opened(restricted[..., :span], at_columns[1][..., :span], at_columns[3][..., :span], m_gate)
    tau = _handover(gate & served[..., :span], ready[..., :span])[..., None]
    tau = np.where(tau >= span, np.where(span > last, last + 1, first_ready[..., None]), tau)
    at_start, handed_over = tau[..., 0] == 0, tau[..., 0] <= last
    pick = np.concatenate((np.maximum(tau - 1, 0), np.full_like(tau, last)), axis=-1)
    if not (handed_over & ~at_start).any():
        # No hand-over mid-path (low traffic: none yet; high traffic: at the first look), so the
        # look before it does not enter the e-value and its grid, half the cost, is skipped.
        pick = pick[..., 1:]
    pick = np.broadcast_to(pick, (*batch, pick.shape[-1]))
    x_s_at, n_s_at, x_c_at, n_c_at = _at_looks(counts, pick, lead=1)
    restricted_at = np.take_along_axis(restricted, np.minimum(pick, columns.size - 1), axis=-1)
    m_at, sign_at = _at_looks(m, pick), _at_looks(sign, pick)
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
