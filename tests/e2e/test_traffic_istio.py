"""The istio provider on the real control plane: a Canary weights the VirtualService another team
owns over the subsets of the operator's DestinationRule, a person's edit of either is put right
within seconds, and abort, undo and delete put it back;
without Istio's CRDs the rollout waits with a condition while the stable serves, and goes on once
they are installed; the objects of the remaining weights pass the real schemas (dry-run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import RoutesStatus
from modelrollout.traffic import RouteTarget, Routing, route_patch
from modelrollout.traffic.istio import destination_rule, routed_http
from modelrollout_dev import LocalCluster
from modelrollout_dev.route_traffic import virtual_service_shares

from . import routes
from .given import Given
from .processes import Sampler
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

TRAFFIC = {"provider": "istio", "istio": {"virtualService": "scoring"}}
HEALTH = {
    "name": "health",
    "match": [{"uri": {"prefix": "/health"}}],
    "route": [{"destination": {"host": "health"}}],
}
STEPS = [{"setWeight": 30}, {"pause": {}}]


def virtual_service(namespace: str, service: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "scoring", "namespace": namespace, "annotations": {"team": "platform"}},
        "spec": {
            "hosts": [service], "gateways": ["mesh"],
            "http": [HEALTH, {
                "name": "score", "match": [{"uri": {"prefix": "/score"}}], "timeout": "2s",
                "route": [{"destination": {"host": f"{service}.{namespace}.svc.cluster.local",
                                           "port": {"number": 80}}}],
            }],
        },
    }  # fmt: skip


def lost_platform_fields(found: dict[str, Any]) -> list[str]:
    """What of the platform team's VirtualService is no longer as they wrote it."""
    spec = found["spec"]
    score = spec["http"][1]
    checks = {
        "hosts": spec["hosts"] == ["fraud-scorer"] and spec["gateways"] == ["mesh"],
        "annotations": found["metadata"]["annotations"] == {"team": "platform"},
        "health entry": spec["http"][0] == HEALTH,
        "score entry": (score["name"], score["timeout"], score["match"]) == ("score", "2s", [{"uri": {"prefix": "/score"}}]),
        "port": all(r["destination"]["port"] == {"number": 80} for r in score["route"]),
        "managers": {"spec.hosts", "spec.gateways", "metadata.annotations"} <= routes.fields_of(found, routes.PLATFORM_TEAM),
    }  # fmt: skip
    return [name for name, held in checks.items() if not held]


def subsets(given: Given) -> list[str]:
    env = given.env
    out = env.cluster.kubectl(
        "get", "destinationrules.networking.istio.io", f"{env.name}-versions", "-n", env.namespace, "-o", "json"
    )  # fmt: skip
    return [subset["name"] for subset in json.loads(out.stdout)["spec"]["subsets"]]


def test_a_canary_weights_the_subsets_a_hand_edit_is_put_right_and_abort_undo_and_delete_restore(
    given: Given,
) -> None:
    env = given.env
    # a paused rollout has no clock: only a change (or this safety resync) wakes it
    given.operator_flags("--resync-seconds", "60")
    routes.install_route_crds(env.cluster, "istio")
    given.service().object(virtual_service(env.namespace, env.model), routes.PLATFORM_TEAM)
    spec = base_spec(env, steps=STEPS)
    spec["strategy"]["traffic"] = TRAFFIC

    with Sampler(lambda: routes.route(env, "VirtualService", "scoring")) as sampler:
        when = given.rollout(spec).wait_for_phase("Paused", timeout=60)
    assert routes.shares(env, "VirtualService", "scoring") == {"v1": 70, "v2": 30}
    assert subsets(given) == ["v1", "v2"]
    seen = {json.dumps(virtual_service_shares(found, env.model), sort_keys=True) for found in sampler.samples}
    expected = {
        "null",
        '{"v1": 100}',
        '{"v1": 100, "v2": 0}',
        '{"v1": 70, "v2": 30}',
    }  # the stable alone first
    assert seen <= expected, f"a route no step asked for: {seen - expected}"
    lost = {name for found in sampler.samples for name in lost_platform_fields(found)}
    assert not lost, f"the platform team's fields changed: {lost}; seen {seen}"

    # a person's edit of the weights, or of the subsets, wakes the rollout, which puts them right
    # within seconds, not at its resync a minute later
    weights = "/spec/http/1/route/{}/weight"
    by_hand = [{"op": "replace", "path": weights.format(0), "value": 100},
               {"op": "replace", "path": weights.format(1), "value": 0}]  # fmt: skip
    edited = routes.patched_by_hand(env, "VirtualService", "scoring", by_hand)
    assert virtual_service_shares(edited, env.model) == {"v1": 100, "v2": 0}
    when.wait_until(
        lambda: routes.shares(env, "VirtualService", "scoring") == {"v1": 70, "v2": 30},
        "the weights put right",
        5,
    )
    routes.patched_by_hand(
        env, "DestinationRule", f"{env.name}-versions", [{"op": "remove", "path": "/spec/subsets/1"}]
    )
    when.wait_until(lambda: subsets(given) == ["v1", "v2"], "the subsets put right", 5)

    when.action("abort").wait_for_phase("RolledBack", timeout=30)
    assert routes.shares(env, "VirtualService", "scoring") == {"v1": 100, "v2": 0}, "abort: all on the stable"

    candidate = base_spec(env, steps=STEPS, candidate="v3")["candidate"]
    when.patch_spec({"candidate": candidate}).wait_for_status(
        lambda s: s.get("candidateVersion") == "v3" and s.get("phase") == "Paused", "v3 paused at 30%", 60
    )
    assert routes.shares(env, "VirtualService", "scoring") == {"v1": 70, "v3": 30}
    when.action("promote-full").wait_for_phase("Promoted", timeout=60)
    assert routes.shares(env, "VirtualService", "scoring") == {"v3": 100}

    when.action("undo").wait_for_phase("RolledBack", timeout=60)
    assert routes.shares(env, "VirtualService", "scoring") == {"v1": 100, "v3": 0}, "undo: back on v1"
    assert not lost_platform_fields(routes.route(env, "VirtualService", "scoring"))

    when.delete_rollout()
    found = routes.route(env, "VirtualService", "scoring")
    assert found["spec"]["http"][1]["route"] == [
        {"destination": {"host": f"{env.model}.{env.namespace}.svc.cluster.local", "port": {"number": 80}}}
    ], "delete: the host alone again, no subset"
    assert not lost_platform_fields(found)
    gone = env.cluster.kubectl(
        "get", "destinationrules.networking.istio.io", "-n", env.namespace, "-o", "json"
    )
    assert json.loads(gone.stdout)["items"] == [], "the operator's DestinationRule is gone"


def test_without_istio_the_rollout_waits_with_the_stable_serving_and_goes_on_once_installed(
    given: Given,
) -> None:
    env = given.env
    routes.remove_route_crds(env.cluster, "istio")
    given.service()
    spec = base_spec(env, steps=STEPS)
    spec["strategy"]["traffic"] = TRAFFIC
    when = given.rollout(spec).wait_for_status(
        lambda s: any(c["reason"] == "TrafficAPINotFound" for c in s.get("conditions", [])),
        "TrafficAPINotFound",
        30,
    )
    when.wait_for_replicas({"fraud-scorer-v1": 4}, timeout=30)
    then = when.then()
    then.phase("Pending").condition("Degraded", "True", "TrafficAPINotFound").deployment_available(
        "fraud-scorer-v1", 4
    )
    then.event_message("TrafficAPINotFound", "the cluster serves no VirtualService (networking.istio.io/v1)")
    assert "fraud-scorer-v2" not in env.deployments(), "no candidate while Istio is missing"

    routes.install_route_crds(env.cluster, "istio")
    given.object(virtual_service(env.namespace, env.model), routes.PLATFORM_TEAM)
    when.wait_for_phase("Paused", timeout=60)
    assert routes.shares(env, "VirtualService", "scoring") == {"v1": 70, "v2": 30}


def test_the_objects_for_other_weights_pass_the_real_schema(cluster: LocalCluster, namespace: str) -> None:
    routes.install_route_crds(cluster, "istio")
    cases = [{"v1": 100}, {"v1": 99, "v2": 1}, {"v1": 0, "v2": 100}, {"v1": 40, "v2": 35, "v3": 25}]

    def objects(target: RouteTarget, stored: dict[str, Any], weights: dict[str, Any]) -> list[dict[str, Any]]:
        http = routed_http(stored["spec"]["http"], target, weights)
        return [destination_rule(target, list(weights)), route_patch(stored, {"http": http})]

    answers = routes.dry_run_for_weights(
        cluster, namespace, virtual_service(namespace, "fraud-scorer"), TRAFFIC, cases, objects
    )
    subsets_written = [[s["name"] for s in answer[0]["spec"]["subsets"]] for answer in answers]
    assert subsets_written == [list(case) for case in cases]
    assert [[r["weight"] for r in answer[1]["spec"]["http"][1]["route"]] for answer in answers] == [
        list(case.values()) for case in cases
    ]


SEGMENTS = RoutesStatus.model_validate({
    "headers": [
        {"name": "beta", "version": "v2", "match": [{"headerName": "X-Beta", "headerValue": {"exact": "true"}}]},
        {"name": "tenants", "version": "v2", "match": [
            {"headerName": "x-tenant", "headerValue": {"prefix": "acme"}},
            {"headerName": "x-id", "headerValue": {"regex": "[0-9]+"}},
            {"cookie": {"name": "segment", "value": "beta"}},
        ]},
    ],
    "mirrors": [
        {"name": "copy", "version": "v2", "percentage": 25},
        {"name": "beta-copy", "version": "v2", "percentage": 100,
         "match": [{"headerName": "x-beta", "headerValue": {"exact": "yes"}}]},
    ],
})  # fmt: skip
"""Every kind of header match and both kinds of mirror, as `status.routes` holds them."""


def test_the_objects_of_header_routes_and_mirrors_pass_the_real_schema(
    cluster: LocalCluster, namespace: str
) -> None:
    routes.install_route_crds(cluster, "istio")
    cases = [{"v1": 100, "v2": 0}, {"v1": 90, "v2": 10}]

    def objects(target: RouteTarget, stored: dict[str, Any], weights: dict[str, Any]) -> list[dict[str, Any]]:
        http = routed_http(stored["spec"]["http"], target, Routing.of(weights, SEGMENTS))
        return [destination_rule(target, list(weights)), route_patch(stored, {"http": http})]

    answers = routes.dry_run_for_weights(
        cluster, namespace, virtual_service(namespace, "fraud-scorer"), TRAFFIC, cases, objects
    )
    for answer in answers:
        names = [entry.get("name") for entry in answer[1]["spec"]["http"]]
        assert names == ["health", "modelrollout-header-beta", "modelrollout-header-tenants",
                         "modelrollout-mirror-copy", "modelrollout-mirror-beta-copy", "score"]  # fmt: skip
    mirror = answers[1][1]["spec"]["http"][3]
    assert (mirror["mirror"]["subset"], mirror["mirrorPercentage"], mirror["route"][1]["weight"]) == (
        "v2",
        {"value": 25},
        10,
    )
    tenants = answers[0][1]["spec"]["http"][2]["match"][0]["headers"]
    assert tenants == {"x-tenant": {"prefix": "acme"}, "x-id": {"regex": "[0-9]+"},
                       "cookie": {"regex": r"^(.*;\s*)?segment=beta(\s*;.*)?$"}}  # fmt: skip
