"""The istio provider on the real control plane: a Canary weights the VirtualService another team
owns over the subsets of the operator's DestinationRule, and abort, undo and delete put it back;
without Istio's CRDs the rollout waits with a condition while the stable serves, and goes on once
they are installed; the objects of the remaining weights pass the real schemas (dry-run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import TrafficSpec
from modelrollout.k8s import kubeconfig_client
from modelrollout.traffic import FIELD_MANAGER, RouteTarget
from modelrollout.traffic.istio import destination_rule, routed_http
from modelrollout_dev import LocalCluster

from .given import Given
from .processes import Sampler
from .routes import PLATFORM_TEAM, fields_of, install_route_crds, remove_route_crds, route, shares
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
        "managers": {"spec.hosts", "spec.gateways", "metadata.annotations"} <= fields_of(found, PLATFORM_TEAM),
    }  # fmt: skip
    return [name for name, held in checks.items() if not held]


def subsets(given: Given) -> list[str]:
    env = given.env
    out = env.cluster.kubectl(
        "get", "destinationrules.networking.istio.io", f"{env.name}-versions", "-n", env.namespace, "-o", "json"
    )  # fmt: skip
    return [subset["name"] for subset in json.loads(out.stdout)["spec"]["subsets"]]


def test_a_canary_weights_the_subsets_and_abort_undo_and_delete_put_them_back(given: Given) -> None:
    env = given.env
    install_route_crds(env.cluster, "istio")
    given.service().object(virtual_service(env.namespace, env.model), PLATFORM_TEAM)
    spec = base_spec(env, steps=STEPS)
    spec["strategy"]["traffic"] = TRAFFIC

    with Sampler(lambda: route(env, "VirtualService", "scoring")) as sampler:
        when = given.rollout(spec).wait_for_phase("Paused", timeout=60)
    assert shares(env, "VirtualService", "scoring") == {"v1": 70, "v2": 30}
    assert subsets(given) == ["v1", "v2"]
    seen = {json.dumps(shares(env, "VirtualService", "scoring"), sort_keys=True)}
    lost = {name for found in sampler.samples for name in lost_platform_fields(found)}
    assert not lost, f"the platform team's fields changed: {lost}; seen {seen}"

    when.action("abort").wait_for_phase("RolledBack", timeout=30)
    assert shares(env, "VirtualService", "scoring") == {"v1": 100, "v2": 0}, "abort: all on the stable"

    candidate = base_spec(env, steps=STEPS, candidate="v3")["candidate"]
    when.patch_spec({"candidate": candidate}).wait_for_status(
        lambda s: s.get("candidateVersion") == "v3" and s.get("phase") == "Paused", "v3 paused at 30%", 60
    )
    assert shares(env, "VirtualService", "scoring") == {"v1": 70, "v3": 30}
    when.action("promote-full").wait_for_phase("Promoted", timeout=60)
    assert shares(env, "VirtualService", "scoring") == {"v3": 100}

    when.action("undo").wait_for_phase("RolledBack", timeout=60)
    assert shares(env, "VirtualService", "scoring") == {"v1": 100, "v3": 0}, "undo: back on v1"
    assert not lost_platform_fields(route(env, "VirtualService", "scoring"))

    when.delete_rollout()
    found = route(env, "VirtualService", "scoring")
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
    remove_route_crds(env.cluster, "istio")
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

    install_route_crds(env.cluster, "istio")
    given.object(virtual_service(env.namespace, env.model), PLATFORM_TEAM)
    when.wait_for_phase("Paused", timeout=60)
    assert shares(env, "VirtualService", "scoring") == {"v1": 70, "v2": 30}


@pytest.mark.parametrize(
    "weights", [{"v1": 100}, {"v1": 99, "v2": 1}, {"v1": 0, "v2": 100}, {"v1": 40, "v2": 35, "v3": 25}],
    ids=["stable", "1%", "promoted", "three"],
)  # fmt: skip
def test_the_objects_for_other_weights_pass_the_real_schema(
    cluster: LocalCluster, namespace: str, weights: dict[str, int]
) -> None:
    install_route_crds(cluster, "istio")
    client = kubeconfig_client(str(cluster.kubeconfig))
    target = RouteTarget(namespace=namespace, rollout="fraud-scorer", service="fraud-scorer", model="fraud-scorer",
                         traffic=TrafficSpec.model_validate(TRAFFIC), versions=tuple(weights))  # fmt: skip
    client.apply_object(virtual_service(namespace, "fraud-scorer"), PLATFORM_TEAM)
    stored = client.get_object("networking.istio.io/v1", "VirtualService", namespace, "scoring")
    client.apply_object(destination_rule(target, list(weights)), FIELD_MANAGER, dry_run=True)
    patch = {"apiVersion": stored["apiVersion"], "kind": "VirtualService",
             "metadata": {"name": "scoring", "namespace": namespace},
             "spec": {"http": routed_http(stored["spec"]["http"], target, weights)}}  # fmt: skip
    applied = client.apply_object(patch, FIELD_MANAGER, dry_run=True)
    assert sum(route["weight"] for route in applied["spec"]["http"][1]["route"]) == 100
