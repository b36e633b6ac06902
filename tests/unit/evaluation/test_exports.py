"""The public names of `metrics` and `evaluation` are pinned: changing them is a deliberate act."""

from __future__ import annotations

import modelrollout.evaluation as evaluation
import modelrollout.metrics as metrics


def test_metrics_exports() -> None:
    assert set(metrics.__all__) == {
        "CREDENTIALS_LABEL",
        "MAX_POINTS_PER_QUERY",
        "BatchedQuerier",
        "InstantQuery",
        "MetricSource",
        "MetricSourceError",
        "MetricSourceRefused",
        "NopSource",
        "Point",
        "PointStore",
        "Presence",
        "PrometheusCredentials",
        "PrometheusPolicy",
        "PrometheusSource",
        "Query",
        "QueryOutcome",
        "RangeQuery",
        "RangeSeries",
        "Selection",
        "Series",
        "SourceCall",
        "forbidden_destination",
        "StaticSource",
        "TemplateContext",
        "TemplateError",
        "UnavailableSource",
        "escape_label_value",
        "escape_regex_literal",
        "new_metric_source",
        "refusal",
        "render",
    }
    assert all(hasattr(metrics, name) for name in metrics.__all__)


def test_evaluation_exports() -> None:
    assert set(evaluation.__all__) == {
        "EvaluationRequest",
        "EvaluationResult",
        "align",
        "evaluate_interval",
        "evaluate_intervals",
        "first_interval_end",
        "metric_result",
        "request_for_step",
    }
    assert all(hasattr(evaluation, name) for name in evaluation.__all__)
