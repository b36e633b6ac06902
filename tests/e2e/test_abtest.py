"""An A/B test on the real control plane: a fixed split on a Gateway API HTTPRoute, simulated
clients that convert more often on the candidate, a real Prometheus, and the candidate promoted
as the winner because its conversion rate is superior and its latency and errors hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.model_traffic import Behaviour
from modelrollout_dev.route_traffic import http_route_shares

from .given import Given
from .processes import Sampler
from .routes import PLATFORM_TEAM, install_route_crds, route
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

GOAL = {
    "name": "conversions",
    "type": "goal",
    "metricName": "model_conversions_total",
    "goal": {"kind": "rate"},
}
GUARDRAILS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.5},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.05},
]


@pytest.fixture(scope="module", autouse=True)
def gateway_api_crds(cluster: LocalCluster) -> Iterator[None]:
    install_route_crds(cluster, "gatewayAPI")
    yield


def storefront_route(namespace: str, service: str) -> dict[str, Any]:
    """The team's HTTPRoute: one rule to the model's Service, which the operator splits."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "storefront", "namespace": namespace},
        "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"backendRefs": [{"name": service, "port": 80}]}]},
    }  # fmt: skip


def test_a_candidate_that_converts_better_with_healthy_guardrails_wins_and_is_promoted(given: Given) -> None:
    env = given.env
    given.service().object(storefront_route(env.namespace, env.model), PLATFORM_TEAM)
    given.model_traffic(
        {"v1": Behaviour(conversion_rate=0.05), "v2": Behaviour(conversion_rate=0.15)},
        through=("HTTPRoute", "storefront"),
    )
    spec = base_spec(env, steps=[], analysis=given.analysis([GOAL, *GUARDRAILS], maxDuration="90s"))
    spec["strategy"] = {
        "type": "ABTest",
        "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "storefront"}},
        "abTest": {"split": 50},
    }

    with Sampler(lambda: route(env, "HTTPRoute", "storefront")) as sampler:
        when = given.rollout(spec).wait_for_phase("Promoted", timeout=150)

    then = when.then()
    then.phase("Promoted").stable_version("v2")
    status = env.status()
    ab_test = status["abTest"]
    assert (ab_test["decision"], ab_test["split"], ab_test["verdict"]) == ("Winner", 50, "Pass"), ab_test
    assert 0.05 < ab_test["effect"] < 0.15 and 0 < ab_test["intervalLow"] < ab_test["effect"], ab_test
    assert ab_test["eValue"] >= 20
    seen = {
        json.dumps(http_route_shares(found, env.name, env.model), sort_keys=True) for found in sampler.samples
    }
    assert '{"v1": 500, "v2": 500}' in seen, f"the test ran at the 50% split: {seen}"
    guardrails = {m["name"]: m["verdict"] for m in status["analysis"]["metrics"]}
    assert guardrails == {"conversions": "Pass", "latency": "Pass", "errors": "Pass"}
    share = ab_test["samplesCandidate"] / (ab_test["samplesCandidate"] + ab_test["samplesStable"])
    assert 0.42 <= share <= 0.58, f"the goal saw the candidate at {share:.3f}, not the route's 50%"
    assert status["history"][-1]["outcome"] == "Promoted"
