"""The risk difference's evidence at the last look of a path whose split changed between steps.

:func:`.risk_difference.risk_difference_log_evidence` with ``segment_starts`` evaluates the grid
of likelihood ratios at every look; the operator needs the last look only, which depends on each
earlier segment at its end, on the look before the score's hand-over and on the last look
(:func:`.segments.last_look_path`). The hand-over look itself is found on the whole path (it
needs the restricted rate per look, not the grid), so the value is the whole path's.

Proof: docs/statistics.md#evidence-across-steps
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .mixtures import as_float_arrays
from .risk_difference import _combine, _handover, _opened, _parts, _ready
from .risk_difference_rates import restricted_rate
from .segments import SegmentStarts, last_look_path

__all__ = ["risk_difference_segmented_final_log_evidence"]

FloatArray = npt.NDArray[np.float64]


def risk_difference_segmented_final_log_evidence(
    stable_events: npt.ArrayLike,
    stable_exposure: npt.ArrayLike,
    candidate_events: npt.ArrayLike,
    candidate_exposure: npt.ArrayLike,
    margin: float,
    segment_starts: SegmentStarts,
    pass_side: bool = True,
) -> tuple[float, float]:
    """Both log e-values ("greater", then "less") at the last look of one path (1-d cumulative
    counts), segments at their own splits; both sides in the same numpy calls, or the "greater"
    one alone without ``pass_side`` (the "less" one is then NaN)."""
    x_s, n_s, x_c, n_c = (
        np.atleast_1d(v)
        for v in as_float_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure)
    )
    m = np.full(x_s.shape, float(margin))
    served = (n_s > 0) & (n_c > 0)
    if not served[-1]:
        return 0.0, 0.0
    restricted = restricted_rate(x_s, n_s, x_c, n_c, m)
    opened = _opened(restricted, n_s, n_c, m) & served
    tau = int(_handover(opened, _ready(n_s, n_c, m)))
    last = x_s.size - 1
    handed_mid_path = 0 < tau <= last
    kept, starts = last_look_path(x_s.size, segment_starts, (tau - 1,) if handed_mid_path else ())
    pick = np.asarray(kept)
    signs = [[1.0], [-1.0]] if pass_side else [[1.0]]
    sides = len(signs)
    b_x_s, b_n_s, b_x_c, b_n_c, b_m = (np.stack([v[pick]] * sides) for v in (x_s, n_s, x_c, n_c, m))
    sign = np.asarray(np.broadcast_to(np.asarray(signs), (sides, pick.size)), dtype=np.float64)
    # The score part's restricted rates at the kept looks are the path's, found above.
    b_restricted = np.stack([restricted[pick]] * sides)
    exact, score, _ = _parts(b_x_s, b_n_s, b_x_c, b_n_c, b_m, sign, b_restricted, starts)
    before = kept.index(tau - 1) if handed_mid_path else 0
    log_e = _combine(
        exact[:, -1],
        score[:, -1],
        exact[:, before] if handed_mid_path else np.zeros(sides),
        score[:, before] if handed_mid_path else np.zeros(sides),
        np.full(sides, tau <= last),
    )
    return float(log_e[0]), float(log_e[1]) if pass_side else math.nan
