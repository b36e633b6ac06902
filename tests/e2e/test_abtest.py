"""An A/B test on the real control plane: a fixed split on a Gateway API HTTPRoute, simulated
clients that convert more often on the candidate, a real Prometheus, and the candidate promoted
as the winner because its conversion rate is superior and its latency and errors hold."""

from __future__ import annotations

import json
import time
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


SEGMENT = [{"headerName": "X-Cohort", "headerValue": {"exact": "b"}}]
COHORTS = ((0.7, {}), (0.3, {"x-cohort": "b"}))
"""Three clients in ten are in the segment."""


def backend(version: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": f"fraud-scorer-{version}", "port": 80, "weight": weight}


EVERYTHING = {"path": {"type": "PathPrefix", "value": "/"}}
WEIGHTED_RULE = {"matches": [EVERYTHING], "backendRefs": [backend("v1", 1000), backend("v2", 0)]}
SEGMENT_RULE = {
    "name": "modelrollout-header-ab-test",
    "matches": [{**EVERYTHING, "headers": [{"name": "x-cohort", "type": "Exact", "value": "b"}]}],
    "backendRefs": [backend("v2", 1)],
}


def answers_per_cohort(traffic: Any, seconds: float, after: list[set[str]] | None = None) -> list[set[str]]:
    """The versions that answered each cohort of `COHORTS` within the next `seconds`; `after`:
    once a half second has shown it (within 5 s), as the simulated Gateway reads the route every
    half second plus a `kubectl` call."""
    deadline = time.monotonic() + 5
    while after is not None and answers_per_cohort(traffic, 0.5) != after and time.monotonic() < deadline:
        pass
    before = {index: dict(counts) for index, counts in traffic.served_by_client.items()}
    time.sleep(seconds)
    after = traffic.served_by_client
    return [
        {v for v, n in after.get(index, {}).items() if n > before.get(index, {}).get(v, 0)}
        for index in range(len(COHORTS))
    ]


def test_a_segment_test_routes_only_the_segment_to_the_candidate_and_abort_removes_the_rule(
    given: Given,
) -> None:
    env = given.env
    given.service().object(storefront_route(env.namespace, env.model), PLATFORM_TEAM)
    given.model_traffic(
        {"v1": Behaviour(), "v2": Behaviour()}, through=("HTTPRoute", "storefront"), clients=COHORTS
    )
    spec = base_spec(env, steps=[], analysis=given.analysis([GOAL, *GUARDRAILS], maxDuration="1h"))
    spec["strategy"] = {
        "type": "ABTest",
        "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "storefront"}},
        "abTest": {"segment": SEGMENT, "segmentReplicas": 2},
    }

    when = given.rollout(spec).wait_for_status(
        lambda s: s.get("routes") is not None and s.get("currentStep") == 2, "the segment routed, testing", 40
    )
    assert route(env, "HTTPRoute", "storefront")["spec"]["rules"] == [SEGMENT_RULE, WEIGHTED_RULE]
    segment_route = {"name": "ab-test", "version": "v2", "match": SEGMENT}
    when.then().replicas({"fraud-scorer-v1": 4, "fraud-scorer-v2": 2}).that(
        lambda s: (
            s["routes"] == {"headers": [segment_route], "mirrors": []}
            and s["abTest"]["segment"] == SEGMENT
            and "split" not in s["abTest"]
        ),
        "the segment's route in force and shown",
    )
    routed = [{"v1"}, {"v2"}]
    assert answers_per_cohort(env.traffic, 2.0, after=routed) == routed, "only the segment reaches v2"

    when.action("abort").wait_for_phase("RolledBack", timeout=20)
    assert route(env, "HTTPRoute", "storefront")["spec"]["rules"] == [WEIGHTED_RULE], "abort removes the rule"
    when.then().that(lambda s: "routes" not in s and s["abTest"]["decision"] == "Aborted", "nothing in force")
    back = [{"v1"}, {"v1"}]
    assert answers_per_cohort(env.traffic, 1.0, after=back) == back, "the segment back on the stable"
