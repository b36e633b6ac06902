"""Sequential evidence on an event rate both ways, vectorised for the operator and the benchmark.

The margin's kind picks the test: a relative margin bounds the rate ratio, which the conditional
binomial of :mod:`.rate_ratio` tests exactly; an absolute margin bounds the risk difference, which
:mod:`.risk_difference` tests against the whole composite null, whatever the stable's rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..types import Margin
from .mixtures import as_float_arrays
from .rate_ratio import conditional_log_evidence, null_share
from .risk_difference import risk_difference_log_evidence
from .segments import SegmentStarts, carried, restarted

__all__ = ["RateEvidence", "rate_log_evidence"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class RateEvidence:
    """Both one-sided log e-values (arrays shaped like the counts) and the common threshold."""

    fail_log_e: FloatArray
    """Log evidence that the candidate is worse than the margin allows."""
    pass_log_e: FloatArray
    """Log evidence that it is within the margin."""
    log_threshold: float
    """Either side decides once its log e-value reaches this, ``log 1/alpha``."""


def rate_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: Margin,
    alpha: float,
    segment_starts: SegmentStarts = (),
) -> RateEvidence:
    """The sequential evidence both ways at every look, for many runs at once.

    Counts are cumulative along the last axis, the looks of one analysis in order: the test for an
    absolute margin depends on the path (see :mod:`.risk_difference`), the conditional binomial
    only on the counts at each look. ``segment_starts``: looks where the traffic split changed
    (:mod:`.segments`); each segment is then counted at its own split and the segments' evidence
    multiplied.
    """
    x_s, n_s, x_c, n_c = as_float_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure)
    starts = tuple(segment_starts)
    if margin.absolute is not None:
        return RateEvidence(
            fail_log_e=risk_difference_log_evidence(x_s, n_s, x_c, n_c, margin.absolute, "greater", starts),
            pass_log_e=risk_difference_log_evidence(x_s, n_s, x_c, n_c, margin.absolute, "less", starts),
            log_threshold=float(-np.log(alpha)),
        )
    if starts:
        x_s, n_s, x_c, n_c = (restarted(v, starts) for v in (x_s, n_s, x_c, n_c))
    share = null_share(1 + (margin.relative or 0.0), n_c, n_s)
    width = np.abs(share - null_share(1.0, n_c, n_s))
    total = x_s + x_c
    fail = conditional_log_evidence(x_c, total, share, "greater", width)
    within = conditional_log_evidence(x_c, total, share, "less", width)
    return RateEvidence(
        fail_log_e=carried(fail, starts) if starts else fail,
        pass_log_e=carried(within, starts) if starts else within,
        log_threshold=float(-np.log(alpha)),
    )
