"""The router's Prometheus series (names in `api.router_config`), on a registry of its own.

Every series carries `namespace`, `model` and `version`; user requests and shadow copies have
separate series, so a dashboard or the analysis never sums a copy with what users were served.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from ..api import router_config as names

LABELS = ("namespace", "model", "version")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
PREDICTION_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""As the model servers' `model_prediction`, so drift reads either the same way."""
DIFFERENCE_BUCKETS = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
LATENCY_DIFFERENCE_BUCKETS = (
    -1.0,
    -0.1,
    -0.025,
    -0.01,
    -0.005,
    -0.001,
    0.0,
    0.001,
    0.005,
    0.01,
    0.025,
    0.1,
    1.0,
)


M = TypeVar("M", bound=MetricWrapperBase)


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry

        def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, LABELS, buckets=buckets, registry=r)

        def counter(name: str, doc: str, *extra: str, labels: tuple[str, ...] = LABELS) -> Counter:
            return Counter(name, doc, (*labels, *extra), registry=r)

        self.requests = counter(names.ROUTER_REQUESTS, "User requests answered.", "outcome", "code")
        self.latency = histogram(names.ROUTER_LATENCY, "Seconds waited for the version.", LATENCY_BUCKETS)
        self.prediction = histogram(names.ROUTER_PREDICTION, "Scores returned.", PREDICTION_BUCKETS)
        self.shadow_requests = counter(names.ROUTER_SHADOW_REQUESTS, "Shadow copies.", "outcome")
        self.shadow_latency = histogram(
            names.ROUTER_SHADOW_LATENCY, "Seconds a shadow copy took.", LATENCY_BUCKETS
        )
        self.shadow_agreement = counter(names.ROUTER_SHADOW_AGREEMENT, "Compared predictions.", "agree")
        self.shadow_difference = histogram(
            names.ROUTER_SHADOW_DIFFERENCE, "|shadow score - served score|.", DIFFERENCE_BUCKETS
        )
        self.shadow_latency_difference = histogram(
            names.ROUTER_SHADOW_LATENCY_DIFFERENCE,
            "Shadow latency - served latency.",
            LATENCY_DIFFERENCE_BUCKETS,
        )
        self.impressions = counter(names.ROUTER_INTERLEAVING_IMPRESSIONS, "Interleaved impressions shown.")
        self.wins = counter(names.ROUTER_INTERLEAVING_WINS, "Impressions won on clicks.")
        self.pulls = counter(names.ROUTER_BANDIT_PULLS, "Requests the bandit sent.")
        self.rewards = counter(names.ROUTER_BANDIT_REWARDS, "Rewards of 1 received.")
        self.feedback = counter(names.ROUTER_BANDIT_FEEDBACK, "Rewards received (0 or 1).")
        self.ready_endpoints = Gauge(
            names.ROUTER_READY_ENDPOINTS, "Ready pods per version.", LABELS, registry=r
        )
        config_labels = ("namespace", "config_map")
        self.config_valid = Gauge(
            names.ROUTER_CONFIG_VALID,
            "1 while the ConfigMap's current content is what is served, 0 after a refusal.",
            config_labels,
            registry=r,
        )
        self.config_rejections = counter(
            names.ROUTER_CONFIG_REJECTIONS, "ConfigMap contents refused.", labels=config_labels
        )
        self.overload = counter(
            names.ROUTER_OVERLOAD_REJECTIONS,
            "Requests answered 503 because the queue was full.",
            labels=("namespace",),
        )

    def child(self, metric: M, *labels: str) -> M:
        """`metric.labels(*labels)`, remembered: the hot path asks for the same few children for
        every request, and prometheus_client validates the labels and takes a lock each time."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        child: M = found
        return child
