"""One analysis interval, the single code path of the controller and the backtest.

`evaluate_intervals` turns rollouts' analysis specs into batched queries (`metrics`), their
answers into samples and tests (`analysis`), and the tests into a judged verdict plus the
per-metric evidence status shows.
"""

from ..api.v1alpha1 import align, first_interval_end
from .evaluate import evaluate_interval, evaluate_intervals, metric_result
from .request import EvaluationRequest, EvaluationResult, request_for_step

__all__ = [
    "EvaluationRequest",
    "EvaluationResult",
    "align",
    "evaluate_interval",
    "evaluate_intervals",
    "first_interval_end",
    "metric_result",
    "request_for_step",
]
