"""BlueGreen on the gatewayAPI provider on the real control plane: the candidate runs at full size
behind its preview Service while the HTTPRoute keeps all live traffic on the stable, the analysis
judges it on the preview traffic, the route switches at once, and the old version stays at full
size for scaleDownDelay; a candidate aborted after the switch is switched back at once, with no
pod to wait for (a failed post-promotion analysis takes the same transition: unit-tested)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.model_traffic import Behaviour
from modelrollout_dev.route_traffic import http_route_shares

from .env import Env
from .given import Given
from .processes import Sampler
from .routes import PLATFORM_TEAM, install_route_crds, route, service_names
from .specs import base_spec
from .test_traffic_gateway_api import TRAFFIC, http_route

pytestmark = [pytest.mark.cluster]

METRICS = [{"name": "latency", "type": "latency", "maxRelativeIncrease": 0.5}]
"""A wide margin, so equal versions pass in an interval or two: what is tested is the preview."""


@pytest.fixture(scope="module", autouse=True)
def gateway_api_crds(cluster: LocalCluster) -> Iterator[None]:
    install_route_crds(cluster, "gatewayAPI")
    yield


def blue_green(env: Env, candidate: str, analysis: dict[str, Any], **settings: Any) -> dict[str, Any]:
    spec = base_spec(env, steps=[], candidate=candidate, analysis=analysis)
    spec["strategy"] = {"type": "BlueGreen", "traffic": TRAFFIC, "blueGreen": settings}
    return spec


def candidate(env: Env, version: str) -> dict[str, Any]:
    return base_spec(env, steps=[], candidate=version)["candidate"]


def refs(env: Env) -> list[tuple[str, int]]:
    """The scoring rule's backendRefs as (name, weight), exactly as the route holds them."""
    rule = route(env, "HTTPRoute", "public")["spec"]["rules"][1]
    return [(ref["name"], ref["weight"]) for ref in rule["backendRefs"]]


def available(env: Env, name: str) -> int:
    deployment = env.deployments().get(name) or {}
    return int((deployment.get("status") or {}).get("availableReplicas") or 0)


def stage_is(name: str) -> Any:
    return lambda status: (status.get("blueGreen") or {}).get("stage") == name


def test_preview_analysis_switch_scale_down_and_an_instant_switch_back(given: Given) -> None:
    env = given.env
    given.service().object(http_route(env.namespace, env.model), PLATFORM_TEAM)
    given.model_traffic({"v1": Behaviour(), "v2": Behaviour()}, through=("HTTPRoute", "public"), preview=0.2)
    analysis = given.analysis(METRICS)
    spec = blue_green(env, "v2", analysis, prePromotionAnalysis={}, scaleDownDelay="4s")

    # when v2 is previewed beside v1 and judged on the preview traffic
    def look() -> tuple[dict[str, Any], dict[str, int] | None, int, int]:
        # the status last: stages only move forward, so what was read before it is of that stage
        # or an earlier one (a busy machine takes seconds over these reads)
        v1, v2 = available(env, "fraud-scorer-v1"), available(env, "fraud-scorer-v2")
        found = route(env, "HTTPRoute", "public")
        return env.status(), http_route_shares(found, env.name, env.model), v1, v2

    with Sampler(look) as sampler:
        when = given.rollout(spec).wait_for_status(stage_is("ScaleDownDelay"), "v2 switched", 90)
        switched = refs(env)
        then = when.then()
        when.wait_for_phase("Promoted", timeout=30)

    # then v2 had no live traffic before the switch, only the preview's, and passed on it
    previewed = [s for s in sampler.samples if stage_is("PrePromotionAnalysis")(s[0])]
    assert previewed, "no sample of the preview"
    assert all(s[1] in ({"v1": 1000, "v2": 0}, None) for s in previewed), {str(s[1]) for s in previewed}
    assert any(s[2] == 4 and s[3] == 4 for s in previewed), "v2 at full size beside v1 during the preview"
    assert {s[0]["blueGreen"]["previewService"] for s in previewed} == {"fraud-scorer-v2"}
    assert "fraud-scorer-v2" in service_names(env)
    passed = then.status["analysis"]
    latency = next(m for m in passed["metrics"] if m["name"] == "latency")
    assert passed["verdict"] == "Pass" and latency["samplesCandidate"] >= 100, passed
    share = latency["samplesCandidate"] / (latency["samplesCandidate"] + latency["samplesStable"])
    assert 0.1 <= share <= 0.3, f"the analysis saw v2 at {share:.2f} of the requests, not the preview's 20%"
    # and the switch moved all live traffic at once, v1 kept at full size for the delay
    assert switched == [("fraud-scorer-v1", 0), ("fraud-scorer-v2", 1000)], switched
    then.event_message("Switched", "from v1 to v2 at once")
    delayed = [s for s in sampler.samples if stage_is("ScaleDownDelay")(s[0])]
    assert delayed and all(s[2] == 4 for s in delayed), "v1 stays at full size during scaleDownDelay"
    assert all(s[0]["phase"] == "Promoting" and s[0]["candidateWeight"] == 100 for s in delayed), (
        "the delay is the promotion's last part, all traffic on v2"
    )
    assert [s[1] for s in sampler.samples if s[1] is not None] == sorted(
        (s[1] for s in sampler.samples if s[1] is not None), key=lambda shares: shares.get("v2", 0)
    ), "the route only ever moved from v1 to v2, in one change"
    when.wait_for_replicas({"fraud-scorer-v1": 0, "fraud-scorer-v2": 4}, timeout=30)
    when.then().phase("Promoted").stable_version("v2")
    assert refs(env) == [("fraud-scorer-v2", 1000)]

    # when v3 is switched to and aborted during its scale-down delay
    long_delay = {"prePromotionAnalysis": None, "scaleDownDelay": "10m"}
    with Sampler(lambda: (refs(env), available(env, "fraud-scorer-v2")), interval=0.1) as during_v3:
        when.patch_spec({"candidate": candidate(env, "v3"), "strategy": {"blueGreen": long_delay}})
        when.wait_for_status(stage_is("ScaleDownDelay"), "v3 switched", 30)
        assert refs(env) == [("fraud-scorer-v2", 0), ("fraud-scorer-v3", 1000)]
        when.action("abort").wait_until(
            lambda: refs(env)[0] == ("fraud-scorer-v2", 1000), "switched back", 10
        )

    # then the switch back was one route change onto v2, which never lost a pod
    routes = [r for r, _ in during_v3.samples]
    switched = routes.index([("fraud-scorer-v2", 0), ("fraud-scorer-v3", 1000)])
    assert routes[switched:] == sorted(routes[switched:], key=lambda r: r[0][1]), routes[switched:]
    assert {tuple(r) for r in routes[switched:]} <= {
        (("fraud-scorer-v2", 0), ("fraud-scorer-v3", 1000)),
        (("fraud-scorer-v2", 1000), ("fraud-scorer-v3", 0)),
    }, "from all on v3 straight to all on v2"
    assert min(replicas for _, replicas in during_v3.samples) == 4, "v2 kept at full size throughout"
    then = when.wait_for_phase("RolledBack", timeout=30).then()
    then.phase("RolledBack").stable_version("v2").lineage_outcomes({"v3": "Aborted"})
    assert refs(env) == [("fraud-scorer-v2", 1000), ("fraud-scorer-v3", 0)]
