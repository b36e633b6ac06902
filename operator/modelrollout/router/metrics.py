"""The router's Prometheus series (names in `api.router_config`), on a registry of its own.

Every series carries `namespace`, `model` and `version`; user requests and shadow copies have
separate series, so a dashboard or the analysis never sums a copy with what users were served.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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


class RouterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            names.ROUTER_REQUESTS, "User requests answered.", (*LABELS, "outcome", "code"), registry=r
        )
        self.latency = Histogram(
            names.ROUTER_LATENCY,
            "Seconds waited for the version.",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.prediction = Histogram(
            names.ROUTER_PREDICTION, "Scores returned.", LABELS, buckets=PREDICTION_BUCKETS, registry=r
        )
        self.shadow_requests = Counter(
            names.ROUTER_SHADOW_REQUESTS, "Shadow copies.", (*LABELS, "outcome"), registry=r
        )
        self.shadow_latency = Histogram(
            names.ROUTER_SHADOW_LATENCY,
            "Seconds a shadow copy took.",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.shadow_agreement = Counter(
            names.ROUTER_SHADOW_AGREEMENT, "Compared predictions.", (*LABELS, "agree"), registry=r
        )
        self.shadow_difference = Histogram(
            names.ROUTER_SHADOW_DIFFERENCE,
            "|shadow score - served score|.",
            LABELS,
            buckets=DIFFERENCE_BUCKETS,
            registry=r,
        )
        self.shadow_latency_difference = Histogram(
            names.ROUTER_SHADOW_LATENCY_DIFFERENCE,
            "Shadow latency - served latency.",
            LABELS,
            buckets=LATENCY_DIFFERENCE_BUCKETS,
            registry=r,
        )
        self.impressions = Counter(
            names.ROUTER_INTERLEAVING_IMPRESSIONS, "Interleaved impressions shown.", LABELS, registry=r
        )
        self.wins = Counter(names.ROUTER_INTERLEAVING_WINS, "Impressions won on clicks.", LABELS, registry=r)
        self.pulls = Counter(names.ROUTER_BANDIT_PULLS, "Requests the bandit sent.", LABELS, registry=r)
        self.rewards = Counter(names.ROUTER_BANDIT_REWARDS, "Rewards of 1 received.", LABELS, registry=r)
        self.feedback = Counter(
            names.ROUTER_BANDIT_FEEDBACK, "Rewards received (0 or 1).", LABELS, registry=r
        )
        self.ready_endpoints = Gauge(
            names.ROUTER_READY_ENDPOINTS, "Ready pods per version.", LABELS, registry=r
        )
        self.config_valid = Gauge(
            names.ROUTER_CONFIG_VALID,
            "1 while the ConfigMap's current content is what is served, 0 after a refusal.",
            ("namespace", "config_map"),
            registry=r,
        )
        self.config_rejections = Counter(
            names.ROUTER_CONFIG_REJECTIONS,
            "ConfigMap contents refused.",
            ("namespace", "config_map"),
            registry=r,
        )
        self.overload = Counter(
            names.ROUTER_OVERLOAD_REJECTIONS,
            "Requests answered 503 because the queue was full.",
            ("namespace",),
            registry=r,
        )
