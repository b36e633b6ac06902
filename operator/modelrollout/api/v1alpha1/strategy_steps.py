"""The steps a strategy runs: a Canary's own list, or the fixed program of an A/B test.

An A/B test is two steps the canary machinery already runs: move traffic to the split (the
capacity move, surge first, with its progress deadline), then one analysis step whose deadline is
the test's `duration` (or `analysis.maxDuration` when the test runs until the sequential test
decides). Expressing it as steps keeps one path for timing, windows, manual actions (promote,
pause, abort, retry, undo), events and lineage. The segment mode of an A/B test is a header
route step (`abtest.SEGMENT_ROUTE`) in place of the weight step: the analysis step starts only
once the segment's route is in force, so its evidence covers one routing only.
"""

from __future__ import annotations

from .spec import CanaryStep, ModelRolloutSpec

__all__ = ["strategy_steps"]


def strategy_steps(spec: ModelRolloutSpec) -> list[CanaryStep]:
    """The steps of `spec`'s strategy, in order; empty when its block is unset."""
    return spec.strategy.run_steps()
