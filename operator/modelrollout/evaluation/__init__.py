"""One analysis interval, the single code path of the controller and the backtest.

`evaluate_intervals` turns rollouts' analysis specs into batched queries (`metrics`), their
answers into samples and tests (`analysis`), and the tests into a judged verdict plus the
per-metric evidence status shows.
"""

from .evaluate import evaluate_interval, evaluate_intervals, metric_result
from .request import (
    EvaluationRequest,
    EvaluationResult,
    align,
    first_interval_end,
    request_for_step,
    rfc3339,
)

__all__ = [
    "EvaluationRequest",
    "EvaluationResult",
    "align",
    "evaluate_interval",
    "evaluate_intervals",
    "first_interval_end",
    "metric_result",
    "request_for_step",
    "rfc3339",
]
