"""Where metric values come from: the `MetricSource` interface, its providers and batching.

One file per provider (`prometheus`, `static`, `unavailable`, `nop`), a factory, the operator's
rules for which Prometheus it may call and how (`access`), PromQL templates
with escaping, the default queries of each metric type (`queries`, which documents the
conventional metric names), `BatchedQuerier`, which sends each distinct query once for a
whole fleet of rollouts, and the `PointStore` it keeps across ticks (`points`).
"""

from .access import CREDENTIALS_LABEL, PrometheusPolicy, forbidden_destination, refusal
from .batch import (
    MAX_POINTS_PER_QUERY,
    BatchedQuerier,
    InstantQuery,
    Query,
    QueryOutcome,
    RangeQuery,
    Selection,
)
from .factory import new_metric_source
from .nop import NopSource
from .points import PointStore
from .presence import Presence
from .prometheus import PrometheusCredentials, PrometheusSource
from .source import MetricSource, MetricSourceError, MetricSourceRefused, Point, RangeSeries, Series
from .static import SourceCall, StaticSource
from .templates import TemplateContext, TemplateError, escape_label_value, escape_regex_literal, render
from .unavailable import UnavailableSource

__all__ = [
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
    "StaticSource",
    "TemplateContext",
    "TemplateError",
    "UnavailableSource",
    "escape_label_value",
    "escape_regex_literal",
    "forbidden_destination",
    "new_metric_source",
    "refusal",
    "render",
]
