"""A rollout through the model router: `provider: router` on the real control plane, real model
servers on the kwok pods' IPs, the router in front of them, users' requests from the load
generator, and a real Prometheus scraping the router (and the stable's model servers, whose
`model_*` series must not be added to the router's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrollout.api.router_config import CONFIG_KEY, RouterConfig, config_map_name
from modelrollout.api.v1alpha1 import TrafficProvider
from modelrollout.metrics import queries
from modelrollout_dev import PrometheusServer
from modelrollout_dev.pod_network import PodNetwork
from modelrollout_dev.tools import tail

from ..fixtures.model_servers import RoutedModel, router_config, router_weights
from .env import Env, promql
from .given import Given
from .specs import base_spec
from .sticky_users import ask_as_users, served_split

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRICS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.10},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01},
]
SERIES = queries.default_series(TrafficProvider.ROUTER)
"""What the analysis reads by default for a rollout through the router."""


@pytest.fixture
def routed(given: Given, pod_network: PodNetwork, tmp_path: Path) -> Iterator[RoutedModel]:
    env = given.env
    with RoutedModel(
        env.cluster, env.namespace, env.name, env.model, pod_network, tmp_path,
        # the candidate answers fifteen times slower than the stable: a latency the analysis must
        # see; its few errors (the stable answers for them) give the errors metric a series to read
        server_args={"v1": ["--latency-median", "0.002"], "v2": ["--latency-median", "0.03", "--error-rate", "0.02"]},
    ) as model:  # fmt: skip
        yield model


@pytest.fixture
def sticky_routed(given: Given, pod_network: PodNetwork, tmp_path: Path) -> Iterator[RoutedModel]:
    """Both versions as fast and faultless as each other: every call is answered by the version the
    split chose (the router answers a candidate's failure from the stable)."""
    env = given.env
    same = ["--latency-median", "0.002"]
    with RoutedModel(env.cluster, env.namespace, env.name, env.model, pod_network, tmp_path,
                     server_args={"v1": same, "v2": same}) as model:  # fmt: skip
        yield model


def weights(env: Env) -> dict[str, float] | None:
    return router_weights(env.cluster, env.namespace, env.name)


def version_services(env: Env) -> dict[str, dict[str, Any]]:
    """The rollout's per-version Services, whole."""
    out = env.cluster.kubectl("get", "services", "-n", env.namespace, "-o", "json").stdout
    services = {s["metadata"]["name"]: s for s in json.loads(out)["items"]}
    return {name: service for name, service in services.items() if name.startswith(f"{env.name}-v")}


def config_map(env: Env) -> tuple[RouterConfig, dict[str, Any]]:
    """The router's ConfigMap: its configuration and its metadata."""
    found = router_config(env.cluster, env.namespace, env.name)
    assert found is not None, f"no ConfigMap {config_map_name(env.name)}"
    return found


def test_a_slower_candidate_is_rolled_back_and_the_router_outlives_the_rollout(
    given: Given, routed: RoutedModel
) -> None:
    env = given.env
    # given a stable v1 served through the router (one replica: 50% keeps the stable's one pod)
    when = given.routed_stable(routed)
    assert version_services(env)[f"{env.name}-v1"]["spec"]["clusterIP"] == "None"
    assert routed.follower is not None
    stable_pods = [f"{server.ip}:{server.port}" for server in routed.follower.sync()]  # answering
    # and users calling it, the router and the stable's model servers scraped by a real Prometheus
    routed.send_load(rate=80, max_seconds=120)
    env.prometheus = PrometheusServer(targets=[routed.metrics_target, *stable_pods]).start()

    # when the candidate v2 is rolled out: 50% through the router, then an analysis
    candidate = base_spec(env, steps=[])["candidate"]
    analysis = given.analysis(METRICS, minSamples=50)
    steps = [{"setWeight": 50}, {"analysis": {}}]
    when.patch_spec({"candidate": candidate, "analysis": analysis, "strategy": {"canary": {"steps": steps}}})
    routed.wait(lambda: weights(env) == {"v1": 50.0, "v2": 50.0}, "the ConfigMap at 50/50", timeout=60)
    services_at_half = set(version_services(env))
    when.wait_for_phase("RolledBack", timeout=90)
    routed.wait(lambda: weights(env) == {"v1": 100.0}, "the ConfigMap back at v1 100%")
    report = routed.stop_load()
    sent = report.by_version
    when.wait_until(
        lambda: (
            _router_counts(env, "v1") == _model_server_count(env, "v1") == sent.get("v1")
            and _router_counts(env, "v2", "success") == sent.get("v2")
        ),
        f"Prometheus holding the final counts; the load generator's: {report.summary()}",
        timeout=15,
    )

    # then the candidate was judged slower on the router's series, and rolled back
    then = when.then()
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.that(lambda s: s["analysis"]["verdict"] == "Fail", "the analysis failed")
    then.that(
        lambda s: any(m["name"] == "latency" and m["verdict"] == "Fail" for m in s["analysis"]["metrics"]),
        "on latency",
    )
    assert services_at_half == {f"{env.name}-v1", f"{env.name}-v2"}
    # and v2 left the ConfigMap only: its Service, never changed or deleted by the operator, waits
    # for garbage collection with the ModelRollout, its owner
    services = version_services(env)
    assert set(services) == {f"{env.name}-v1", f"{env.name}-v2"}
    uid = env.rollout()["metadata"]["uid"]
    for service in services.values():
        assert [o["uid"] for o in service["metadata"]["ownerReferences"]] == [uid], service["metadata"]
    # and every user was answered, by both versions while the weight was 50% (the stable answers
    # for the candidate while the candidate's pod does not listen yet: the router falls back)
    assert report.by_status == {"200": report.sent} and set(sent) == {"v1", "v2"}, (
        f"{report.summary()}\n{tail(routed.log)}"
    )
    # and the counts the analysis reads are what the load generator sent: each answer counted
    # once, on the version that gave it (the candidate's failures the stable answered for are the
    # candidate's errors), never added to the model servers' own series, which Prometheus holds
    # too for the same namespace, model and versions
    assert _router_counts(env, "v1") == sent["v1"]
    assert _router_counts(env, "v2", "success") == sent["v2"]
    candidate_errors = _router_counts(env, "v2", "error") or 0
    assert sum(_router_counts(env, v) or 0 for v in ("v1", "v2")) == report.sent + candidate_errors
    assert _model_server_count(env, "v1") == sent["v1"], "the stable's own model server saw them too"
    errors = next(m for m in env.status()["analysis"]["metrics"] if m["name"] == "errors")
    assert 0 < errors["samplesCandidate"] <= sent["v2"] + candidate_errors
    assert 0 < errors["samplesStable"] <= sent["v1"]

    # when the ModelRollout is deleted (once garbage collection follows its ownerReferences)
    when.wait_for_garbage_collector().delete_rollout()

    # then the ConfigMap, no longer owned, sends everything to the stable through spec.service
    # (only the stable's pods are left behind it), and the per-version Services are collected
    config, metadata = config_map(env)
    assert [(v.name, v.service, v.weight) for v in config.versions] == [("v1", env.model, 100.0)]
    assert "ownerReferences" not in metadata, metadata
    when.wait_until(lambda: version_services(env) == {}, "the version Services to go with the ModelRollout")
    # and users are still answered through the router, by the stable
    routed.send_load(rate=40, max_seconds=3)
    after = routed.wait_for_load(timeout=30)
    assert after.sent > 0 and after.by_status == {"200": after.sent}, f"{after.summary()}\n{tail(routed.log)}"
    assert set(after.by_version) == {"v1"}, after.summary()


def _router_counts(env: Env, version: str, outcome: str | None = None) -> int | None:
    """The router's requests of `version` (of one outcome) that Prometheus holds: the series the
    analysis reads by default for a rollout through the router."""
    selector = f'namespace="{env.namespace}", model="{env.model}", version="{version}"'
    if outcome is not None:
        selector += f', outcome="{outcome}"'
    values = list(promql(env, f"sum({SERIES.requests}{{{selector}}})").values())
    return round(values[0]) if values else None


def _model_server_count(env: Env, version: str) -> int | None:
    """The requests `version`'s model servers counted themselves (`model_requests_total`)."""
    query = (
        f'sum(model_requests_total{{namespace="{env.namespace}", model="{env.model}", version="{version}"}})'
    )
    values = list(promql(env, query).values())
    return round(values[0]) if values else None


USERS = [f"user-{index}" for index in range(400)]


def _paused_at(step: int, weight: int) -> Any:
    return lambda s: (
        s.get("phase") == "Paused" and s.get("currentStep") == step and s.get("candidateWeight") == weight
    )


def _serving(env: Env, routed: RoutedModel, expected: dict[str, float]) -> None:
    """Until the ConfigMap holds `expected`, the router has loaded it, and it sends to a ready,
    answering pod of each of those versions (a kwok pod is Ready before its model server listens)."""
    routed.wait(lambda: weights(env) == expected, f"the ConfigMap at {expected}", timeout=60)
    assert routed.follower is not None
    follower = routed.follower

    def answering() -> bool:  # sync() serves the Ready pods and returns once their servers answer
        pods = [server.pod for server in follower.sync()]
        return all(any(pod.startswith(f"{env.name}-{version}-") for pod in pods) for version in expected)

    routed.wait(answering, f"model servers of {sorted(expected)} answering")
    served = {version: (weight, 1) for version, weight in expected.items()}
    routed.wait(lambda: served_split(routed.url, env.model) == served, f"the router serving {served}")


def test_a_sticky_split_keeps_each_user_on_one_version_as_the_candidate_grows(
    given: Given, sticky_routed: RoutedModel
) -> None:
    env, routed = given.env, sticky_routed
    # given a canary through the router, sticky by the x-user-id header, held at 20% then at 50%
    # (a paused rollout has no clock: only a change, or this safety resync, wakes it)
    given.operator_flags("--resync-seconds", "60").service()
    steps = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
    # one replica: each version keeps one pod at both weights (capacity rounds up), so no pod
    # changes under the users while they are asked
    spec = base_spec(env, steps=steps, replicas=1)
    spec["strategy"]["traffic"] = {"provider": "router"}
    spec["strategy"]["canary"]["stickiness"] = {"header": "x-user-id"}

    # when it holds at 20%, and 400 users call the router twice each
    when = given.rollout(spec).wait_for_status(_paused_at(1, 20), "paused at 20%", timeout=60)
    _serving(env, routed, {"v1": 80.0, "v2": 20.0})
    at_20 = ask_as_users(routed.url, env.model, "X-User-Id", USERS)
    config_at_20, metadata_at_20 = config_map(env)

    # then the ConfigMap splits users by their header, and the operator says it wrote that
    assert config_at_20.stickiness is not None and config_at_20.stickiness.header == "x-user-id"
    assert metadata_at_20["annotations"]["modelrollout.io/owned-settings"] == "stickiness"
    # and each user got the same version on both calls, about a fifth of them the candidate
    assert at_20.statuses == {200: 2 * len(USERS)}, at_20.statuses
    pinned_at_20 = at_20.pinned()
    assert 0.14 <= at_20.share("v2") <= 0.26, at_20.share("v2")

    # when a person sets the weights back by hand, then the ConfigMap's change wakes the rollout,
    # which writes them again within seconds, not at its resync a minute later
    by_hand = config_at_20.model_dump(mode="json", by_alias=True, exclude_none=True)
    by_hand["versions"] = [{**v, "weight": 100.0 if v["name"] == "v1" else 0.0} for v in by_hand["versions"]]
    patch = json.dumps({"data": {CONFIG_KEY: json.dumps(by_hand)}})
    edited = env.cluster.kubectl(
        "patch", "configmap", config_map_name(env.name), "-n", env.namespace, "--type=merge", "-p", patch, "-o", "json"
    )  # fmt: skip
    edited_weights = RouterConfig.model_validate_json(json.loads(edited.stdout)["data"][CONFIG_KEY]).versions
    assert {v.name: v.weight for v in edited_weights} == {"v1": 100.0, "v2": 0.0}
    routed.wait(lambda: weights(env) == {"v1": 80.0, "v2": 20.0}, "the weights put right", timeout=5)

    # when the candidate grows to 50% and the users call again
    when.action("promote").wait_for_status(_paused_at(3, 50), "paused at 50%", timeout=60)
    _serving(env, routed, {"v1": 50.0, "v2": 50.0})
    at_50 = ask_as_users(routed.url, env.model, "X-User-Id", USERS)

    # then each user still keeps one version, about half on the candidate, and every user the
    # candidate had at 20% is still on it
    assert at_50.statuses == {200: 2 * len(USERS)}, at_50.statuses
    pinned_at_50 = at_50.pinned()
    assert 0.42 <= at_50.share("v2") <= 0.58, at_50.share("v2")
    left = sorted(
        user for user, version in pinned_at_20.items() if version == "v2" and pinned_at_50[user] != "v2"
    )
    assert left == [], f"users moved off the candidate as it grew: {left[:10]}"

    # when the rollout is aborted
    when.action("abort").wait_for_phase("RolledBack", timeout=60)
    _serving(env, routed, {"v1": 100.0})

    # then the ConfigMap is the stable's alone: no stickiness, nothing marked as the operator's
    config, metadata = config_map(env)
    assert config.stickiness is None and config.segments == [] and config.shadow is None, config
    assert "modelrollout.io/owned-settings" not in (metadata.get("annotations") or {}), metadata
    # and every user is answered by the stable
    after = ask_as_users(routed.url, env.model, "X-User-Id", USERS[:100], repeats=1)
    assert after.statuses == {200: 100} and set(after.pinned().values()) == {"v1"}, after.statuses
