"""Evidence across a rollout's steps: each segment of constant traffic split counted on its own.

A canary's weight changes between steps, and the tests' null distributions depend on the split
(the candidate's share of events, the least favourable pair on the margin, the variance of a
difference of means). Evidence carried across steps therefore restarts its counts at every
*segment start* (the first look of each step after the first) and multiplies the segments'
likelihood ratios: for one alternative the product of per-segment ratios, each a supermartingale
under the null from its segment's start, is one over the whole path, and a fixed-weight mixture
over alternatives of such products is an e-process across steps (Ville's inequality bounds its
crossing at ``1/alpha`` however the split changed, as long as each change was decided before the
segment's data were seen, as a rollout's steps are). Without segment starts everything here is
the identity: one segment, today's cumulative counts.

Why and how this keeps validity: docs/statistics.md#evidence-across-steps
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["SegmentStarts", "carried", "last_look_path", "pooled", "restarted", "segment_bounds"]

FloatArray = npt.NDArray[np.float64]
SegmentStarts = Sequence[int]
"""Indices of the looks (along the last axis of a path) where a new split starts; 0 and indices
outside the path are ignored."""


def segment_bounds(looks: int, starts: SegmentStarts) -> list[tuple[int, int]]:
    """``[start, stop)`` of every segment of a path of ``looks`` looks."""
    inner = sorted({int(s) for s in starts if 0 < int(s) < looks})
    edges = [0, *inner, looks]
    return list(itertools.pairwise(edges))


def restarted(cumulative: FloatArray, starts: SegmentStarts, axis: int = -1) -> FloatArray:
    """Counts since their segment's start at each look, from counts since the path's start."""
    values = np.moveaxis(np.asarray(cumulative, dtype=np.float64), axis, -1)
    out = values.copy()
    for start, stop in segment_bounds(values.shape[-1], starts):
        if start > 0:
            out[..., start:stop] -= values[..., start - 1 : start]
    return np.moveaxis(out, -1, axis)


def carried(per_segment: FloatArray, starts: SegmentStarts) -> FloatArray:
    """Per look, the sum of ``per_segment`` (log likelihood ratios counted within their segment)
    at the ends of the segments before and at this look: the log of the product across segments.
    """
    values = np.asarray(per_segment, dtype=np.float64)
    out = values.copy()
    carry = np.zeros(values.shape[:-1])
    for start, stop in segment_bounds(values.shape[-1], starts):
        out[..., start:stop] += carry[..., None]
        carry = carry + values[..., stop - 1]
    return out


def pooled(
    difference: FloatArray,
    candidate_count: FloatArray,
    stable_count: FloatArray,
    candidate_variance: FloatArray,
    stable_variance: FloatArray,
    starts: SegmentStarts,
) -> tuple[FloatArray, FloatArray]:
    """The segments' differences of means pooled by precision, and the pooled variance, per look.

    ``difference`` and the counts are within-segment (see :func:`restarted`); the per-request
    variances are the path's plug-in at each look. For one effect ``delta`` the product of the
    segments' Gaussian likelihoods is the likelihood of this pooled estimate, so a mixture over
    ``delta`` of it is the mixture SPRT across steps; a segment where a version has no requests
    weighs nothing.
    """
    looks = difference.shape[-1]
    precision_sum = np.zeros(difference.shape)
    weighted_sum = np.zeros(difference.shape)
    index = np.arange(looks)
    for start, stop in segment_bounds(looks, starts):
        at = np.minimum(index, stop - 1)
        reached = index >= start
        n_c, n_s = candidate_count[..., at], stable_count[..., at]
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = candidate_variance / n_c + stable_variance / n_s
            precision = np.where(reached & (n_c > 0) & (n_s > 0) & (variance > 0), 1 / variance, 0.0)
        precision = np.where(np.isfinite(precision), precision, 0.0)
        precision_sum += precision
        weighted_sum += np.where(precision > 0, difference[..., at], 0.0) * precision
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = weighted_sum / precision_sum
        variance = 1 / precision_sum
    usable = precision_sum > 0
    return (
        np.asarray(np.where(usable, mean, 0.0), dtype=np.float64),
        np.asarray(np.where(usable, variance, np.nan), dtype=np.float64),
    )


def last_look_path(
    looks: int, starts: SegmentStarts, extra: Sequence[int] = ()
) -> tuple[list[int], tuple[int, ...]]:
    """The looks the evidence at the last look depends on, and the segment starts among them.

    Segmented evidence at the last look needs each earlier segment at its end only (its factor
    is final there) and the current one at the last look, plus any ``extra`` look a test needs
    (the risk difference's look before its hand-over). Evaluating the path reduced to these looks
    gives the same value at its last look, at a fraction of the cost on a long path.
    """
    bounds = segment_bounds(looks, starts)
    kept = sorted({stop - 1 for _, stop in bounds} | {int(e) for e in extra if 0 <= int(e) < looks})
    reduced = tuple(
        sorted({next(i for i, k in enumerate(kept) if k >= start) for start, _ in bounds if start > 0})
    )
    return kept, reduced
