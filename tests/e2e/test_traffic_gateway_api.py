"""The gatewayAPI provider on the real control plane: a Canary weights the HTTPRoute another team
owns exactly, step by step, and the analysis sees that split; a person's edit of the weights, or
a version Service deleted by hand, is put right within seconds; abort, undo and delete put the
route back; a missing route holds the rollout with the stable serving; and the objects of the
remaining weights pass the real schemas (server-side dry-run)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import RoutesStatus
from modelrollout.traffic import FIELD_MANAGER, RouteTarget, Routing, route_patch
from modelrollout.traffic.gateway_api import routed_rules, version_service
from modelrollout_dev import LocalCluster
from modelrollout_dev.model_traffic import Behaviour
from modelrollout_dev.route_traffic import http_route_shares

from .given import Given
from .processes import Sampler
from .routes import (
    PLATFORM_TEAM,
    dry_run_for_weights,
    fields_of,
    install_route_crds,
    patched_by_hand,
    route,
    service_names,
    shares,
)
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

TRAFFIC = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}
HEALTH_RULE = {
    "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
    "backendRefs": [{"name": "health", "port": 80}],
}
METRICS = [{"name": "latency", "type": "latency", "maxRelativeIncrease": 0.5}]
"""A wide margin, so equal versions pass in an interval or two: what is tested is the split."""


@pytest.fixture(scope="module", autouse=True)
def gateway_api_crds(cluster: LocalCluster) -> Iterator[None]:
    install_route_crds(cluster, "gatewayAPI")
    yield


def http_route(namespace: str, service: str) -> dict[str, Any]:
    """The platform team's route: a Gateway, a host name, a label, a health rule of theirs, and
    the scoring rule to the model's Service that the operator weights."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "public", "namespace": namespace, "labels": {"team": "platform"}},
        "spec": {
            "parentRefs": [{"name": "edge", "namespace": "gateways"}],
            "hostnames": ["score.example.com"],
            "rules": [HEALTH_RULE, {
                "matches": [{"path": {"type": "PathPrefix", "value": "/score"}}],
                "filters": [{"type": "RequestHeaderModifier",
                             "requestHeaderModifier": {"set": [{"name": "x-route", "value": "public"}]}}],
                "backendRefs": [{"name": service, "port": 80}],
            }],
        },
    }  # fmt: skip


def lost_platform_fields(found: dict[str, Any]) -> list[str]:
    """What of the platform team's route is no longer as they wrote it (nothing, when it survived)."""
    spec = found["spec"]
    checks = {
        "parentRefs": spec["parentRefs"][0]["name"] == "edge",
        "hostnames": spec["hostnames"] == ["score.example.com"],
        "labels": found["metadata"]["labels"] == {"team": "platform"},
        "health rule": spec["rules"][0]["matches"] == HEALTH_RULE["matches"]
        and spec["rules"][0]["backendRefs"][0]["name"] == "health",
        "filters": spec["rules"][1]["filters"][0]["type"] == "RequestHeaderModifier",
        "managers": {"spec.parentRefs", "spec.hostnames", "metadata.labels"}
        <= fields_of(found, PLATFORM_TEAM),
    }
    return [name for name, held in checks.items() if not held]


def test_a_canary_weights_the_route_exactly_and_the_analysis_sees_that_split(given: Given) -> None:
    env = given.env
    given.service().object(http_route(env.namespace, env.model), PLATFORM_TEAM)
    given.model_traffic({"v1": Behaviour(), "v2": Behaviour()}, through=("HTTPRoute", "public"))
    # a pause long enough for the sampler's reads to see 50% on a busy machine
    steps = [{"setWeight": 10}, {"analysis": {}}, {"setWeight": 50}, {"pause": {"duration": "5s"}}]
    spec = base_spec(env, steps=steps, analysis=given.analysis(METRICS))
    spec["strategy"]["traffic"] = TRAFFIC

    with Sampler(lambda: (env.status().get("candidateWeight"), route(env, "HTTPRoute", "public"))) as sampler:
        when = given.rollout(spec).wait_for_phase("Promoted", timeout=120)

    then = when.then()
    then.phase("Promoted").stable_version("v2")
    routes = [found for _, found in sampler.samples]
    seen = {json.dumps(http_route_shares(found, env.name, env.model), sort_keys=True) for found in routes}
    assert {'{"v1": 900, "v2": 100}', '{"v1": 500, "v2": 500}'} <= seen, seen
    expected = {"null", '{"v1": 1000}', '{"v1": 1000, "v2": 0}', '{"v1": 900, "v2": 100}',
                '{"v1": 500, "v2": 500}', '{"v1": 0, "v2": 1000}', '{"v2": 1000}'}  # fmt: skip
    assert seen <= expected, f"a route no step asked for: {seen - expected}"
    assert shares(env, "HTTPRoute", "public") == {"v2": 1000}, "promoted: all on v2"
    lost = {name for found in routes for name in lost_platform_fields(found)}
    assert not lost, f"the platform team's fields changed: {lost}; {json.dumps(routes[-1]['metadata'])}"
    samples = next(m for m in env.status()["analysis"]["metrics"] if m["name"] == "latency")
    share = samples["samplesCandidate"] / (samples["samplesCandidate"] + samples["samplesStable"])
    # 10% by the route, where the replicas provider would serve 25% (1 of 4 pods); Prometheus'
    # increase() extrapolates a series born inside the first window, hence the slack
    assert 0.07 <= share <= 0.15, f"the analysis saw the candidate at {share:.3f}, not the route's 10%"
    assert service_names(env) == {env.model, "fraud-scorer-v1", "fraud-scorer-v2"}


def test_a_hand_edit_is_put_right_at_once_and_abort_undo_and_delete_put_the_route_back(given: Given) -> None:
    env = given.env
    # a paused rollout has no clock: only a change (or this safety resync) wakes it
    given.operator_flags("--resync-seconds", "60")
    given.service().object(http_route(env.namespace, env.model), PLATFORM_TEAM)
    steps = [{"setWeight": 30}, {"pause": {}}]
    spec = base_spec(env, steps=steps)
    spec["strategy"]["traffic"] = TRAFFIC
    when = given.rollout(spec).wait_for_phase("Paused", timeout=60)
    assert shares(env, "HTTPRoute", "public") == {"v1": 700, "v2": 300}

    # a person sets the weights back by hand; the route's change wakes the rollout, which puts
    # them right within seconds, not at its resync a minute later
    weights = "/spec/rules/1/backendRefs/{}/weight"
    by_hand = [{"op": "replace", "path": weights.format(0), "value": 1000},
               {"op": "replace", "path": weights.format(1), "value": 0}]  # fmt: skip
    edited = patched_by_hand(env, "HTTPRoute", "public", by_hand)
    assert http_route_shares(edited, env.name, env.model) == {"v1": 1000, "v2": 0}
    when.wait_until(
        lambda: shares(env, "HTTPRoute", "public") == {"v1": 700, "v2": 300}, "the weights put right", 5
    )
    # a version Service deleted by hand is created again as quickly
    env.cluster.kubectl("delete", "service", "fraud-scorer-v2", "-n", env.namespace)
    when.wait_until(lambda: "fraud-scorer-v2" in service_names(env), "the version Service created again", 5)

    when.action("abort").wait_for_phase("RolledBack", timeout=30)
    assert shares(env, "HTTPRoute", "public") == {"v1": 1000, "v2": 0}, "abort: all on the stable"
    when.then().phase("RolledBack").that(lambda s: s["effectiveWeights"] == {"v1": 100, "v2": 0}, "served")

    candidate = base_spec(env, steps=steps, candidate="v3")["candidate"]
    when.patch_spec({"candidate": candidate}).wait_for_status(
        lambda s: s.get("candidateVersion") == "v3" and s.get("phase") == "Paused", "v3 paused at 30%", 60
    )
    when.action("promote-full").wait_for_phase("Promoted", timeout=60)
    assert shares(env, "HTTPRoute", "public") == {"v3": 1000}

    when.action("undo").wait_for_phase("RolledBack", timeout=60)
    assert shares(env, "HTTPRoute", "public") == {"v1": 1000, "v3": 0}, "undo: back on v1"
    assert not lost_platform_fields(route(env, "HTTPRoute", "public"))

    when.wait_for_garbage_collector().delete_rollout()
    found = route(env, "HTTPRoute", "public")
    assert found["spec"]["rules"][1]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": env.model, "port": 80, "weight": 1}
    ], "delete: the rule sends its traffic to the model's Service again (weight 1: the apiserver's default)"
    assert not lost_platform_fields(found)
    when.wait_until(
        lambda: service_names(env) == {env.model}, "the version Services to go with the ModelRollout"
    )
    assert FIELD_MANAGER in {e["manager"] for e in found["metadata"]["managedFields"]}


def test_a_missing_route_holds_the_rollout_and_the_stable_serves(given: Given) -> None:
    env = given.env
    given.service()
    spec = base_spec(env, steps=[{"setWeight": 0.5}, {"pause": {}}, {"setWeight": 30}, {"pause": {}}])
    spec["strategy"]["traffic"] = TRAFFIC
    when = given.rollout(spec).wait_for_status(
        lambda s: any(c["reason"] == "RouteNotFound" for c in s.get("conditions", [])), "RouteNotFound", 30
    )
    when.wait_for_replicas({"fraud-scorer-v1": 4}, timeout=30)
    then = when.then()
    then.phase("Pending").condition("Degraded", "True", "RouteNotFound").deployment_available(
        "fraud-scorer-v1", 4
    )
    then.event_message(
        "RouteNotFound", "HTTPRoute 'public' (spec.strategy.traffic.gatewayAPI.httpRoute) not found"
    )
    assert "fraud-scorer-v2" not in env.deployments(), "no candidate while the route is missing"

    given.object(http_route(env.namespace, env.model), PLATFORM_TEAM)
    when.wait_for_phase("Paused", timeout=60)
    assert shares(env, "HTTPRoute", "public") == {"v1": 995, "v2": 5}, "half a percent, exactly"
    when.then().that(
        lambda s: (
            (s["candidateWeight"], s["weights"], s["effectiveWeights"])
            == (0.5, {"v1": 99.5, "v2": 0.5}, {"v1": 99.5, "v2": 0.5})
        ),
        "0.5% asked, set and served",
    )
    when.action("resume").wait_for_status(
        lambda s: s.get("currentStep") == 3 and s.get("phase") == "Paused", "paused at 30%", 60
    )
    assert shares(env, "HTTPRoute", "public") == {"v1": 700, "v2": 300}
    when.then().condition("Degraded", "False")


def test_the_objects_for_other_weights_pass_the_real_schema(cluster: LocalCluster, namespace: str) -> None:
    cases: list[dict[str, Any]] = [
        {"v1": 100}, {"v1": 99, "v2": 1}, {"v1": Fraction("99.9"), "v2": Fraction("0.1")},
        {"v1": 0, "v2": 100}, {"v1": 40, "v2": 35, "v3": 25}, {"v1": Fraction("0.5"), "v2": Fraction("99.5")},
    ]  # fmt: skip
    ports = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}

    def objects(target: RouteTarget, stored: dict[str, Any], weights: dict[str, Any]) -> list[dict[str, Any]]:
        services = [version_service(target, version, ports) for version in weights]
        return [
            *services,
            route_patch(stored, {"rules": routed_rules(stored["spec"]["rules"], target, weights)}),
        ]

    answers = dry_run_for_weights(
        cluster, namespace, http_route(namespace, "fraud-scorer"), TRAFFIC, cases, objects
    )
    written = [[ref["weight"] for ref in answer[-1]["spec"]["rules"][1]["backendRefs"]] for answer in answers]
    assert written == [[1000], [990, 10], [999, 1], [0, 1000], [400, 350, 250], [5, 995]]


BETA_MATCH = [{"headerName": "X-Beta", "headerValue": {"exact": "true"}}]
ROUTE_STEPS = [
    {"setHeaderRoute": {"name": "beta", "match": BETA_MATCH}},
    {"pause": {}},
    {"setMirrorRoute": {"name": "copy", "percentage": 50}},
    {"setWeight": 10},
    {"setCanaryScale": {"replicas": 2}},
    {"pause": {}},
    {"setHeaderRoute": {"name": "beta"}},
    {"pause": {}},
]
CLIENTS = ((0.8, {}), (0.2, {"x-beta": "true"}))
"""A fifth of the clients send the beta header."""
SCORE = {"path": {"type": "PathPrefix", "value": "/score"}}
FILTERS = [
    {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "x-route", "value": "public"}]},
    }
]
STORED_HEALTH_RULE = {
    **HEALTH_RULE,
    "backendRefs": [{"group": "", "kind": "Service", "name": "health", "port": 80, "weight": 1}],
}


def ref(version: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": f"fraud-scorer-{version}", "port": 80, "weight": weight}


def weighted_rule(v1: int, v2: int) -> dict[str, Any]:
    return {"matches": [SCORE], "filters": FILTERS, "backendRefs": [ref("v1", v1), ref("v2", v2)]}


HEADER_RULE = {
    "name": "modelrollout-header-beta",
    "matches": [{**SCORE, "headers": [{"name": "x-beta", "type": "Exact", "value": "true"}]}],
    "filters": FILTERS,
    "backendRefs": [ref("v2", 1)],
}
MIRROR = {"type": "RequestMirror", "requestMirror": {
    "backendRef": {"group": "", "kind": "Service", "name": "fraud-scorer-v2", "port": 80}, "percent": 50}}  # fmt: skip


def mirror_rule(v1: int, v2: int) -> dict[str, Any]:
    return {"name": "modelrollout-mirror-copy", **weighted_rule(v1, v2), "filters": [*FILTERS, MIRROR]}


def traffic_for(env: Any, seconds: float) -> tuple[list[dict[str, int]], dict[str, int]]:
    """What the clients saw over `seconds`: per client, answers per version; and copies per version."""
    traffic = env.traffic
    traffic.wait_for_fresh_read()  # the route just written, not the one read before it
    served = {index: dict(counts) for index, counts in traffic.served_by_client.items()}
    mirrored = dict(traffic.mirrored)
    time.sleep(seconds)
    per_client = [
        {v: n - served.get(index, {}).get(v, 0) for v, n in traffic.served_by_client.get(index, {}).items()}
        for index in range(len(CLIENTS))
    ]
    return [{v: n for v, n in counts.items() if n} for counts in per_client], {
        v: n - mirrored.get(v, 0) for v, n in traffic.mirrored.items() if n - mirrored.get(v, 0)
    }


def paused_at(step: int) -> Any:
    return lambda s: s.get("phase") == "Paused" and s.get("currentStep") == step


def test_header_route_mirror_and_canary_scale_steps_write_exact_rules_and_abort_restores_the_stable(
    given: Given,
) -> None:
    env = given.env
    given.service().object(http_route(env.namespace, env.model), PLATFORM_TEAM)
    given.model_traffic(
        {"v1": Behaviour(), "v2": Behaviour()}, through=("HTTPRoute", "public"), clients=CLIENTS
    )
    spec = base_spec(env, steps=ROUTE_STEPS)
    spec["strategy"]["traffic"] = TRAFFIC

    sampler = Sampler(lambda: route(env, "HTTPRoute", "public")["spec"]["rules"]).__enter__()
    when = given.rollout(spec).wait_for_status(paused_at(1), "paused after the header route", 60)
    assert route(env, "HTTPRoute", "public")["spec"]["rules"] == [
        STORED_HEALTH_RULE,
        HEADER_RULE,
        weighted_rule(1000, 0),
    ]
    when.then().replicas({"fraud-scorer-v1": 4, "fraud-scorer-v2": 1}).that(
        lambda s: (
            s["routes"]
            == {"headers": [{"name": "beta", "version": "v2", "match": BETA_MATCH}], "mirrors": []}
        ),
        "the header route in force",
    )
    answered, copies = traffic_for(env, 2.0)
    assert set(answered[0]) == {"v1"} and set(answered[1]) == {"v2"} and not copies, (answered, copies)

    when.action("resume").wait_for_status(paused_at(5), "paused after the mirror, 10% and the scale", 60)
    found = route(env, "HTTPRoute", "public")
    assert found["spec"]["rules"] == [
        STORED_HEALTH_RULE,
        HEADER_RULE,
        mirror_rule(900, 100),
        weighted_rule(900, 100),
    ]
    assert not lost_platform_fields(found)
    when.then().replicas({"fraud-scorer-v1": 4, "fraud-scorer-v2": 2}).that(
        lambda s: s["canaryScale"] == {"replicas": 2} and s["routes"]["mirrors"][0]["percentage"] == 50,
        "scale",
    )
    answered, copies = traffic_for(env, 3.0)
    converged = route(env, "HTTPRoute", "public")["metadata"]["resourceVersion"]
    assert converged == found["metadata"]["resourceVersion"], "a converged rollout writes nothing"
    plain = answered[0]
    assert set(answered[1]) == {"v2"}, answered
    assert 0.05 <= plain.get("v2", 0) / sum(plain.values()) <= 0.16, plain
    assert 0.4 <= copies.get("v2", 0) / sum(plain.values()) <= 0.6, (copies, plain)

    when.action("resume").wait_for_status(paused_at(7), "paused after the header route's removal", 60)
    assert route(env, "HTTPRoute", "public")["spec"]["rules"] == [
        STORED_HEALTH_RULE, mirror_rule(900, 100), weighted_rule(900, 100)
    ]  # fmt: skip
    mirror_only = {
        "headers": [],
        "mirrors": [{"name": "copy", "version": "v2", "percentage": 50, "match": []}],
    }
    when.then().that(lambda s: s["routes"] == mirror_only, "the mirror alone in force")

    when.action("abort").wait_for_phase("RolledBack", timeout=30)
    sampler.__exit__()
    found = route(env, "HTTPRoute", "public")
    assert found["spec"]["rules"] == [STORED_HEALTH_RULE, weighted_rule(1000, 0)], "abort: all on the stable"
    asked_for = [
        [
            STORED_HEALTH_RULE,
            {**weighted_rule(1000, 0), "backendRefs": [{**ref("v1", 1), "name": env.model}]},
        ],
        [STORED_HEALTH_RULE, {**weighted_rule(1000, 0), "backendRefs": [ref("v1", 1000)]}],
        [STORED_HEALTH_RULE, weighted_rule(1000, 0)],
        [STORED_HEALTH_RULE, HEADER_RULE, weighted_rule(1000, 0)],
        [STORED_HEALTH_RULE, HEADER_RULE, mirror_rule(1000, 0), weighted_rule(1000, 0)],
        [STORED_HEALTH_RULE, HEADER_RULE, mirror_rule(900, 100), weighted_rule(900, 100)],
        [STORED_HEALTH_RULE, mirror_rule(900, 100), weighted_rule(900, 100)],
    ]
    assert len(sampler.samples) > 10, sampler.errors[-3:]
    unasked = [rules for rules in sampler.samples if rules not in asked_for]
    assert not unasked, f"route states no step asked for: {json.dumps(unasked[:2])}"
    assert not lost_platform_fields(found)
    when.then().that(lambda s: "routes" not in s and "canaryScale" not in s, "nothing in force")
    answered, copies = traffic_for(env, 1.0)
    assert set(answered[0]) == set(answered[1]) == {"v1"} and not copies, (answered, copies)


def test_the_rules_of_every_match_kind_and_mirror_pass_the_real_schema(
    cluster: LocalCluster, namespace: str
) -> None:
    segments = RoutesStatus.model_validate({
        "headers": [{"name": "tenants", "version": "v2", "match": [
            {"headerName": "x-tenant", "headerValue": {"prefix": "acme."}},
            {"headerName": "x-id", "headerValue": {"regex": "[0-9]+"}},
            {"cookie": {"name": "segment", "value": "beta"}},
        ]}],
        "mirrors": [{"name": "beta-copy", "version": "v2", "percentage": 5, "match": BETA_MATCH}],
    })  # fmt: skip
    ports = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}

    def objects(target: RouteTarget, stored: dict[str, Any], weights: dict[str, Any]) -> list[dict[str, Any]]:
        rules = routed_rules(stored["spec"]["rules"], target, Routing.of(weights, segments))
        return [*(version_service(target, v, ports) for v in weights), route_patch(stored, {"rules": rules})]

    answers = dry_run_for_weights(
        cluster, namespace, http_route(namespace, "fraud-scorer"), TRAFFIC, [{"v1": 99, "v2": 1}], objects
    )
    rules = answers[0][-1]["spec"]["rules"]
    assert [rule.get("name") for rule in rules] == [
        None,
        "modelrollout-header-tenants",
        "modelrollout-mirror-beta-copy",
        None,
    ]
    assert rules[1]["matches"][0]["headers"] == [
        {"name": "x-tenant", "type": "RegularExpression", "value": r"^acme\..*"},
        {"name": "x-id", "type": "RegularExpression", "value": "[0-9]+"},
        {"name": "cookie", "type": "RegularExpression", "value": r"^(.*;\s*)?segment=beta(\s*;.*)?$"},
    ]
    assert rules[2]["filters"][-1]["requestMirror"]["percent"] == 5
