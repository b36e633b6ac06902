"""Synthetic Prometheus answers for a fleet of rollouts, on the batched built-in queries."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
from modelrollout.evaluation import EvaluationRequest
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

INTERVAL = 30
START = datetime(2025, 1, 1, 12, 0, 10, tzinfo=UTC)
"""Deliberately not aligned: the first counted interval is 12:00:30-12:01:00."""
EDGES = (0.05, 0.1, 0.25, 0.5, 1.0, math.inf)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def latency_shares(median: float) -> list[float]:
    """Cumulative share of requests at or under each edge, log-normal with sigma 0.5."""
    return [
        1.0 if edge == math.inf else 0.5 * math.erfc(-math.log(edge / median) / (0.5 * math.sqrt(2)))
        for edge in EDGES
    ]


@dataclass
class Version:
    requests: float = 1000.0
    """Per interval."""
    error_rate: float | None = 0.01
    """None: the error series does not exist (no error ever counted)."""
    median_latency: float = 0.1


@dataclass
class Rollout:
    namespace: str
    model: str
    stable: Version = field(default_factory=Version)
    candidate: Version = field(default_factory=Version)
    stable_version: str = "v1"
    candidate_version: str = "v2"


def analysis(*metrics: MetricSpec, **settings: object) -> AnalysisSpec:
    return AnalysisSpec(
        interval=f"{INTERVAL}s",
        prometheus=PrometheusSpec(address="http://prometheus:9090"),
        metrics=list(metrics),
        **settings,
    )


LATENCY = MetricSpec(name="latency", type=MetricType.LATENCY, max_relative_increase=0.1)
ERRORS = MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.005)


def request(rollout: Rollout, spec: AnalysisSpec, at: datetime, **extra: object) -> EvaluationRequest:
    return EvaluationRequest(
        namespace=rollout.namespace,
        name=rollout.model,
        model=rollout.model,
        stable_version=rollout.stable_version,
        candidate_version=rollout.candidate_version,
        analysis=spec,
        started_at=START,
        at=at,
        **extra,  # type: ignore[arg-type]
    )


def interval_ends(first: datetime, last: datetime) -> list[float]:
    return [float(t) for t in range(int(first.timestamp()), int(last.timestamp()) + 1, INTERVAL)]


def fleet_source(rollouts: list[Rollout], first: datetime, last: datetime, **options: object) -> StaticSource:
    """A source answering the built-in latency and error queries for every rollout, one point per
    interval end in [first, last]."""
    times = interval_ends(first, last)
    buckets, sums, requests, errors = [], [], [], []
    for rollout in rollouts:
        for version, data in (
            (rollout.stable_version, rollout.stable),
            (rollout.candidate_version, rollout.candidate),
        ):
            labels = {"namespace": rollout.namespace, "model": rollout.model, "version": version}
            requests.append(RangeSeries(labels, tuple((t, data.requests) for t in times)))
            if data.error_rate is not None:
                errors.append(RangeSeries(labels, tuple((t, data.requests * data.error_rate) for t in times)))
            shares = latency_shares(data.median_latency)
            for edge, share in zip(EDGES, shares, strict=True):
                le = "+Inf" if edge == math.inf else repr(edge)
                buckets.append(
                    RangeSeries({**labels, "le": le}, tuple((t, data.requests * share) for t in times))
                )
            mean = data.median_latency * math.exp(0.125)
            sums.append(RangeSeries(labels, tuple((t, data.requests * mean) for t in times)))
    return StaticSource(
        {
            defaults.histogram_buckets(defaults.LATENCY_METRIC, INTERVAL): buckets,
            defaults.histogram_sum(defaults.LATENCY_METRIC, INTERVAL): sums,
            defaults.requests(defaults.REQUESTS_METRIC, INTERVAL): requests,
            defaults.request_errors(defaults.REQUESTS_METRIC, INTERVAL): errors,
        },
        **options,  # type: ignore[arg-type]
    )
