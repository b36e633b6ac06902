"""Both ends of a confidence sequence from its one-sided e-values: probes, then secant steps.

A confidence sequence here is the set of parameter values that neither one-sided test rejects,
and each end is where its side's evidence crosses the threshold. Bisection found the ends to
the last bit at a cost of a dozen or more evaluations of the evidence, most of a rollout's
analysis; the mixtures' evidence is nearly linear in the parameter on the scale
``sqrt(2 log e)``, so a few probes and secant steps find each end to a hundredth of a standard
error. Every end returned is a point whose evidence rejects, so the set contains the exact
inversion whatever the precision. Measured cost: docs/statistics.md#cpu-budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from ..search import secant_to_rejection

__all__ = ["confidence_ends"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TOLERANCE: Final = 1e-2
"""Width, in standard errors of the estimate, below which a bracket on an end stops shrinking."""
SMALLEST_WIDTH: Final = 1e-7
"""Never narrower than this, about the precision of the risk difference's earlier bisection."""
PROBES: Final = (0.0, 2.5, 4.0, 6.0)
"""Standard errors from the estimate at which both ends are probed in the first call, around
where the mixtures' ends fall (3-5 standard errors); each probe costs about a third of a call."""
FAR_PROBES: Final = (12.0, 40.0)
"""Probed only when no end was found within the first probes."""


def confidence_ends(
    log_evidence: Callable[[FloatArray], FloatArray],
    log_threshold: float,
    estimate: FloatArray,
    error: FloatArray,
    edge: float,
    extra: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray, FloatArray | None]:
    """Where each side's evidence stops rejecting, searched for both sides at once.

    ``log_evidence(points)`` takes points shaped ``(k, 2, *batch)``, the first row of axis 1
    for the lower end (evidence that falls as the point grows), the second for the upper; the
    range searched is ``[-edge, edge]`` around ``estimate`` (with standard error ``error``,
    both shaped ``batch``). Returns per side the end (a rejecting point), whether one was found
    in the range (else the end is unbounded), and the log evidence at the ``extra`` points
    (shaped ``(1, 2, *batch)``), evaluated in the probes' call to spare a call of its own.
    """
    batch = estimate.shape
    sign = np.asarray([1.0, -1.0]).reshape((2, *(1,) * len(batch)))

    def past_threshold(log_e: FloatArray) -> FloatArray:
        """How far past the threshold ``log_e`` is, on the scale ``sqrt(2 log e)``: on it a
        mixture's evidence grows about linearly with the distance from the estimate (it is about
        ``z^2 / 2`` for ``z`` standard errors), so regula falsi converges in a few steps. The
        sign is that of ``log e - threshold``."""
        root = np.sqrt(2 * np.maximum(log_e, 0.0))
        return np.asarray(root - math.sqrt(2 * log_threshold), dtype=np.float64)

    def excess(points: FloatArray) -> FloatArray:
        return past_threshold(log_evidence(points))

    # Probes from the side that rejects least (the estimate) to the side that rejects most; the
    # evidence is monotone along them, as bisection assumed too.
    offsets = np.asarray(PROBES).reshape((-1, 1, *(1,) * len(batch)))
    probes = np.clip(estimate - sign * offsets * error, -edge, edge)
    at_extra = None
    if extra is None:
        values = excess(probes)
    else:
        log_e = log_evidence(np.concatenate((probes, extra)))
        values, at_extra = past_threshold(log_e[: len(probes)]), log_e[len(probes) :]
    if not (values[-1] >= 0).all():
        far = np.clip(
            estimate - sign * np.asarray(FAR_PROBES).reshape(offsets[:2].shape) * error, -edge, edge
        )
        probes, values = np.concatenate((probes, far)), np.concatenate((values, excess(far)))
    if not (values[-1] >= 0).all() or (values[0] >= 0).any():
        # Rarely, an end lies beyond the probes: the bracket's ends then are the range's ends,
        # evaluated only when needed (for the risk difference, a margin near -1 or 1 is the
        # slowest to evaluate).
        edges = np.broadcast_to(np.stack((sign * edge, -sign * edge)), (2, 2, *batch))
        probes = np.concatenate((edges[:1], probes, edges[1:]))
        values = np.concatenate((excess(edges[:1]), values, excess(edges[1:])))
    tolerance = np.maximum(TOLERANCE * error, SMALLEST_WIDTH)
    end, found = secant_to_rejection(excess, probes, values, tolerance)
    return end, found, at_extra
