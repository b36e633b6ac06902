"""A Shadow rollout through the model router, end to end: real model servers on the kwok pods'
IPs, the router in front of them copying users' requests to the candidate, a real Prometheus
scraping the router, and the operator judging the candidate on the copies. A candidate that
agrees with the stable is promoted; one whose predictions are shifted is rolled back with its
mirror removed; one aborted mid-comparison leaves the ConfigMap as it was. No user is ever
answered by a candidate under comparison."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrollout.api.router_config import ROUTER_REQUESTS, ROUTER_SHADOW_REQUESTS
from modelrollout.api.v1alpha1 import MIRROR_NAME
from modelrollout_dev import PrometheusServer
from modelrollout_dev.model_server_scoring import version_seed
from modelrollout_dev.pod_network import PodNetwork

from ..fixtures.model_servers import RoutedModel
from .env import Env, promql
from .given import Given
from .specs import base_spec
from .test_router import config_map

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

SAME_MODEL = ["--seed", str(version_seed("v1")), "--latency-median", "0.005", "--error-rate", "0.01"]
"""The stable's weights: a candidate started with them answers as the stable does, plus its shift."""
METRICS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.5},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.05},
]


@pytest.fixture
def routed(given: Given, pod_network: PodNetwork, tmp_path: Path) -> Iterator[RoutedModel]:
    env = given.env
    with RoutedModel(
        env.cluster, env.namespace, env.name, env.model, pod_network, tmp_path,
        server_args={
            "v1": SAME_MODEL,
            "v2": [*SAME_MODEL, "--prediction-shift", "0.02"],  # agrees: a few scores cross 0.5
            "v3": [*SAME_MODEL, "--prediction-shift", "1.5"],  # a third of the classes flip
            "v4": [*SAME_MODEL, "--prediction-shift", "0.02"],
        },
    ) as model:  # fmt: skip
        yield model


def served(env: Env) -> dict[str, Any]:
    """Weights and shadow of the router's ConfigMap as one comparable value."""
    config, metadata = config_map(env)
    found: dict[str, Any] = {version.name: version.weight for version in config.versions}
    if config.shadow is not None:
        found["shadow"] = (config.shadow.version, config.shadow.sample_rate)
        found["mirror"] = (metadata.get("annotations") or {}).get("modelrollout.io/mirror")
    return found


def counted(env: Env, series: str, version: str) -> float:
    selector = f'namespace="{env.namespace}", model="{env.model}", version="{version}"'
    values = list(promql(env, f"sum({series}{{{selector}}})").values())
    return values[0] if values else 0.0


def shadow_spec(env: Env, version: str, **settings: Any) -> dict[str, Any]:
    return {
        "candidate": base_spec(env, steps=[], candidate=version)["candidate"],
        "strategy": {"shadow": {"minAgreement": 0.9, "maxScoreDifference": 0.05, **settings}},
    }


def test_an_agreeing_candidate_is_promoted_a_disagreeing_one_rolled_back_and_abort_restores_the_mirror(
    given: Given, routed: RoutedModel
) -> None:
    env = given.env
    # given a stable v1 served through the router, users calling it, a real Prometheus scraping it
    when = given.routed_stable(routed, {"type": "Shadow"})
    routed.send_load(rate=100, max_seconds=150)
    env.prometheus = PrometheusServer(targets=[routed.metrics_target]).start()
    when.patch_spec({"analysis": given.analysis(METRICS, minSamples=50, maxDuration="40s")})

    # when v2, whose predictions are the stable's but for a small shift, is compared in shadow
    when.patch_spec(shadow_spec(env, "v2", percentage=100))
    mirror = {"v1": 100.0, "v2": 0.0, "shadow": ("v2", 1.0), "mirror": MIRROR_NAME}
    routed.wait(lambda: served(env) == mirror, "the mirror to v2 in the ConfigMap", timeout=40)
    when.wait_for_phase("Promoted", "RolledBack", timeout=60)

    # then it agreed, was promoted, and the ConfigMap sends everything to it without a shadow
    then = when.then()
    then.phase("Promoted").stable_version("v2")
    status = env.status()
    shadow = status["shadow"]
    assert (shadow["decision"], shadow["verdict"], shadow["agreementVerdict"]) == (
        "Agrees",
        "Pass",
        "Pass",
    ), shadow
    assert shadow["agreement"] >= 0.95 and shadow["agreementLow"] >= 0.9 and shadow["compared"] >= 50, shadow
    assert shadow["scoreDifference"] < 0.02 and shadow["scoreDifferenceHigh"] < 0.05, shadow
    assert {m["name"]: m["verdict"] for m in status["analysis"]["metrics"]} == {
        "latency": "Pass", "errors": "Pass", "shadow-agreement": "Pass", "shadow-score-difference": "Pass",
    }  # fmt: skip
    routed.wait(lambda: served(env) == {"v2": 100.0}, "the ConfigMap at v2 100%, no shadow")

    # when v3, whose scores are shifted well past the margins, is compared in shadow
    when.patch_spec(shadow_spec(env, "v3"))
    mirror = {"v2": 100.0, "v3": 0.0, "shadow": ("v3", 1.0), "mirror": MIRROR_NAME}
    routed.wait(lambda: served(env) == mirror, "the mirror to v3 in the ConfigMap", timeout=40)
    when.wait_for_phase("RolledBack", "Promoted", timeout=60)

    # then it differed, was rolled back, and the mirror is gone; v2 still serves everyone
    when.then().phase("RolledBack").stable_version("v2").candidate_weight(0)
    shadow = env.status()["shadow"]
    assert (shadow["decision"], shadow["agreementVerdict"]) == ("Differs", "Fail"), shadow
    assert shadow["agreementHigh"] < 0.9, shadow
    routed.wait(lambda: served(env) == {"v2": 100.0}, "the ConfigMap back at v2 100%, no shadow")

    # when v4 is compared but aborted before a verdict (minSamples out of reach)
    when.patch_spec({**shadow_spec(env, "v4", percentage=50), "analysis": {"minSamples": 1_000_000}})
    mirror = {"v2": 100.0, "v4": 0.0, "shadow": ("v4", 0.5), "mirror": MIRROR_NAME}
    routed.wait(lambda: served(env) == mirror, "the mirror to v4 at 50% in the ConfigMap", timeout=40)
    when.wait_for_status(lambda s: (s.get("shadow") or {}).get("intervals", 0) >= 1, "a look at v4", 30)
    when.action("abort").wait_for_phase("RolledBack", timeout=30)

    # then the ConfigMap is as it was before v4, and status says why
    routed.wait(lambda: served(env) == {"v2": 100.0}, "abort restoring the ConfigMap")
    assert env.status()["shadow"]["decision"] == "Aborted"
    report = routed.stop_load()
    # and no user was ever answered by a candidate under comparison, while each got copies
    assert set(report.by_version) <= {"v1", "v2"}, report.summary()
    when.wait_until(lambda: counted(env, ROUTER_SHADOW_REQUESTS, "v4") > 0, "v4's copies in Prometheus", 10)
    for version in ("v3", "v4"):
        assert counted(env, ROUTER_REQUESTS, version) == 0, f"{version} answered users"
        assert counted(env, ROUTER_SHADOW_REQUESTS, version) > 0, f"{version} got no copies"
