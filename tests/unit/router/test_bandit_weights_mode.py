"""The router bandit's `mode: weights`: the operator decides the split once per interval, the
router serves exactly the versions' weights while still counting pulls and taking rewards (the
counters the operator's next decision reads). `mode: thompson` (the default) is unchanged."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from modelrollout.api.router_config import Bandit, RouterConfig
from modelrollout.router.bandit import ThompsonSampler
from modelrollout.router.routing import Snapshot, choose

from .loopback import Backend, routed, two_versions
from .test_http_bad_input import post, run
from .test_http_features import metric


def _config(stable: float, candidate: float, **bandit: object) -> RouterConfig:
    return RouterConfig.model_validate(two_versions(stable, candidate, bandit=bandit))  # type: ignore[arg-type]


def test_the_default_mode_is_the_router_s_own_sampler() -> None:
    assert Bandit().mode == "thompson"
    assert RouterConfig.model_validate(two_versions(100, 0, bandit={})).bandit == Bandit()


def test_weights_mode_needs_weights_summing_to_100_and_no_floors() -> None:
    with pytest.raises(ValidationError, match="weights sum to 90"):
        _config(80, 10, mode="weights")
    with pytest.raises(ValidationError, match="minWeight is for mode thompson"):
        _config(80, 20, mode="weights", minWeight={"v1": 10})
    assert _config(80, 20, mode="weights").bandit == Bandit(mode="weights")


def test_weights_mode_routes_by_the_weights_whatever_the_rewards() -> None:
    config = _config(30, 70, mode="weights")
    sampler = ThompsonSampler(Bandit(mode="weights"))
    for _ in range(200):  # rewards that would pull the router's own sampler all to v1
        sampler.reward("v1", 1)
        sampler.reward("v2", 0)
    snapshot = Snapshot(config, {})
    rng = random.Random(7)
    choices = [choose(snapshot, {}, {}, rng, sampler) for _ in range(20_000)]
    assert {choice.how for choice in choices} == {"bandit"}, "every request is a counted pull"
    share = Counter(choice.version for choice in choices)["v2"] / len(choices)
    assert abs(share - 0.70) < 0.015, share


def test_weights_mode_serves_the_split_counts_pulls_and_takes_feedback() -> None:
    async def scenario() -> None:
        config = two_versions(20, 80, bandit={"mode": "weights"})
        async with routed(config, Backend("v1"), Backend("v2"), seed=5) as (router, url):
            for version in ("v1", "v2"):  # every series exists at 0 before the first pull
                assert metric(router, "modelrollout_router_bandit_pulls_total", f'version="{version}"') == 0
            served = []
            for _ in range(200):
                _, headers, _ = await post(f"{url}/v1/models/m:predict", {"i": 1})
                served.append(headers["x-modelrollout-version"])
                reward = 1 if headers["x-modelrollout-version"] == "v1" else 0
                status, _, _ = await post(
                    f"{url}/feedback", {"requestId": headers["x-request-id"], "reward": reward}
                )
                assert status == 200
            assert 125 <= served.count("v2") <= 190, served.count("v2")
            assert metric(router, "modelrollout_router_bandit_pulls_total") == 200
            pulled_v1 = metric(router, "modelrollout_router_bandit_pulls_total", 'version="v1"')
            assert pulled_v1 == served.count("v1")
            assert metric(router, "modelrollout_router_bandit_feedback_total") == 200
            assert metric(router, "modelrollout_router_bandit_rewards_total", 'version="v1"') == pulled_v1

    run(scenario)
