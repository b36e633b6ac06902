"""An interleaving experiment through the model router on the real control plane: reference model
servers ranking items on the kwok pods' IPs, the router merging the stable's and the candidate's
rankings for every user, users clicking mostly items the candidate placed (their clicks POSTed to
the router's /feedback), a real Prometheus scraping the router, and the operator promoting the
candidate users prefer. The router's ConfigMap is checked at every step, and an abort puts it back
to the stable alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrollout_dev import PrometheusServer
from modelrollout_dev.pod_network import PodNetwork
from modelrollout_dev.tools import tail

from ..fixtures.model_servers import OWNED_SETTINGS, RoutedModel, router_config
from ..fixtures.ranking_users import RANK_LENGTH, RankingUsers
from .env import Env
from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


@pytest.fixture
def routed(given: Given, pod_network: PodNetwork, tmp_path: Path) -> Iterator[RoutedModel]:
    env = given.env
    with RoutedModel(env.cluster, env.namespace, env.name, env.model, pod_network, tmp_path) as model:
        yield model


def router_state(env: Env) -> tuple[dict[str, float], dict[str, Any] | None, str | None] | None:
    """The router's ConfigMap as (weights, interleaving block, the provider's annotation)."""
    found = router_config(env.cluster, env.namespace, env.name)
    if found is None:
        return None
    config, metadata = found
    block = config.interleaving.model_dump(mode="json", by_alias=True) if config.interleaving else None
    annotation = (metadata.get("annotations") or {}).get(OWNED_SETTINGS)
    return {v.name: v.weight for v in config.versions}, block, annotation


def interleaving(stable: str, candidate: str) -> dict[str, Any]:
    return {"versions": [stable, candidate], "listField": "ranking", "length": RANK_LENGTH}


def experiment(env: Env, given: Given, candidate: str) -> dict[str, Any]:
    """The spec patch that rolls `candidate` out as an interleaving experiment, no guardrail."""
    return {
        "candidate": base_spec(env, steps=[], candidate=candidate)["candidate"],
        "strategy": {
            "type": "Interleaved", "canary": None, "traffic": {"provider": "router"},
            "interleaved": {"listField": "ranking", "length": RANK_LENGTH, "minImpressions": 30},
        },
        "analysis": given.analysis([], maxDuration="90s", onInconclusive="pause"),
    }  # fmt: skip


def test_users_who_prefer_the_candidates_ranking_get_it_promoted_and_an_abort_unmerges(
    given: Given, routed: RoutedModel
) -> None:
    env = given.env
    # given a stable v1 served through the router, one replica
    when = given.routed_stable(routed)
    # and users asking it for rankings, clicking nine times in ten an item the candidate placed
    users = RankingUsers(routed.url, env.model).start()
    env.prometheus = PrometheusServer(targets=[routed.metrics_target]).start()
    try:
        # when v2 is rolled out as an interleaving experiment
        seen: set[Any] = set()

        def merged(stable: str, candidate: str) -> bool:
            state = router_state(env)
            seen.add(json.dumps(state, sort_keys=True))
            return state == ({stable: 100.0, candidate: 0.0}, interleaving(stable, candidate), "interleaving")

        when.patch_spec(experiment(env, given, "v2"))
        # then the ConfigMap merges both rankings once v2 runs at full size, v2 never answering alone
        routed.wait(lambda: merged("v1", "v2"), "the ConfigMap merging v1's and v2's rankings", timeout=60)
        step = env.status()
        assert step["currentStep"] == 1 and step["routes"]["interleaving"]["versions"] == ["v1", "v2"], step
        assert env.replicas() == {f"{env.name}-v1": 1, f"{env.name}-v2": 1}, "v2 at full size beside v1"
        # and the users' clicks decide: v2 is promoted
        when.wait_for_phase("Promoted", timeout=90)
        routed.wait(
            lambda: router_state(env) == ({"v2": 100.0}, None, None), "the ConfigMap at v2 100% alone"
        )
        states = {
            json.dumps(({"v1": 100.0}, None, None), sort_keys=True),
            json.dumps(({"v1": 100.0, "v2": 0.0}, interleaving("v1", "v2"), "interleaving"), sort_keys=True),
        }
        assert seen <= states, f"the ConfigMap in no other state on the way: {seen - states}"
        then = when.then()
        then.phase("Promoted").stable_version("v2")
        shown = env.status()["interleaved"]
        assert shown["decision"] == "CandidatePreferred" and shown["verdict"] == "Pass", shown
        assert shown["candidateWins"] > 3 * shown["stableWins"] and shown["impressions"] >= 30, shown
        assert 0.5 < shown["intervalLow"] <= shown["winShare"] <= shown["intervalHigh"], shown
        assert shown["eValue"] >= 20, shown
        then.event_message("InterleavingDecided", "users prefer the candidate's ranking")
        metric = next(m for m in env.status()["lineage"][-1]["metrics"] if m["name"] == "interleaving")
        assert metric["verdict"] == "Pass", metric
        assert users.mismatches == 0 and users.impressions > 0, (users.mismatches, users.impressions)
        assert users.clicks.get("v2", 0) > users.clicks.get("v1", 0) > 0, users.clicks

        # when a v3 experiment starts and is aborted while the rankings are merged
        when.patch_spec(experiment(env, given, "v3"))
        routed.wait(lambda: merged("v2", "v3"), "the ConfigMap merging v2's and v3's rankings", timeout=60)
        when.action("abort").wait_for_phase("RolledBack", timeout=30)
        # then the ConfigMap is the stable's alone again, no interleaving left
        routed.wait(
            lambda: router_state(env) == ({"v2": 100.0}, None, None), "the ConfigMap back at v2 alone"
        )
        when.then().phase("RolledBack").stable_version("v2").candidate_weight(0).that(
            lambda s: s["interleaved"]["decision"] == "Aborted" and "routes" not in s, "aborted, unmerged"
        )
    finally:
        users.stop()
    assert not users.errors[-5:] or len(users.errors) < users.impressions, (
        users.errors[-5:],
        tail(routed.log),
    )
