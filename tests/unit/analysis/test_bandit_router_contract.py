"""How the operator's weights reach the router today, without a router change: written as the
router bandit's `minWeight` floors summing to 100, they route every request by the floors alone
(the router's own sampler never runs), while the router still counts pulls and takes rewards,
the counters the next decision reads. The analysis layer never imports the router; this test
joins the two through the ConfigMap's schema."""

from __future__ import annotations

import random
from collections import Counter

from modelrollout.analysis import ArmCounts, BanditSettings, bandit_decision
from modelrollout.api.router_config import Bandit, RouterConfig
from modelrollout.router.bandit import ThompsonSampler


def test_weights_as_floors_are_the_router_s_split() -> None:
    arms = [
        ArmCounts("v1", 3000, 3000, 150),
        ArmCounts("v2", 3000, 3000, 180),
        ArmCounts("v3", 3000, 3000, 170),
    ]
    weights = bandit_decision(arms, {"v1": 34.0, "v2": 33.0, "v3": 33.0}, BanditSettings()).weights
    assert sum(weights.values()) == 100.0
    config = RouterConfig.model_validate(
        {
            "model": "ranker",
            "versions": [{"name": v, "service": f"ranker-{v}"} for v in weights],
            "bandit": {"minWeight": weights},
        }
    )
    assert config.bandit == Bandit(min_weight=weights)
    sampler = ThompsonSampler(config.bandit)
    for _ in range(50):  # rewards that would pull the router's own sampler towards v1
        sampler.reward("v1", 1)
    rng = random.Random(4)
    draws = 40_000
    routed = Counter(sampler.choose(list(weights), rng) for _ in range(draws))
    for version, weight in weights.items():
        assert abs(100.0 * routed[version] / draws - weight) < 1.0, (version, routed, weights)
