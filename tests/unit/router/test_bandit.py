"""Thompson sampling on seeded inputs: it follows the rewards, respects the floors, and is
reproducible from its seed."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from modelrollout.api.router_config import Bandit
from modelrollout.router.bandit import ThompsonSampler


def _feed(sampler: ThompsonSampler, version: str, successes: int, failures: int) -> None:
    for _ in range(successes):
        sampler.reward(version, 1)
    for _ in range(failures):
        sampler.reward(version, 0)


def test_without_feedback_the_versions_share_the_pulls() -> None:
    sampler = ThompsonSampler(Bandit())
    rng = random.Random(11)
    counts = Counter(sampler.choose(["v1", "v2"], rng) for _ in range(4000))
    assert 0.45 < counts["v2"] / 4000 < 0.55, counts


def test_the_better_rewarded_version_gets_most_pulls() -> None:
    sampler = ThompsonSampler(Bandit())
    _feed(sampler, "v1", 30, 70)
    _feed(sampler, "v2", 60, 40)
    rng = random.Random(5)
    counts = Counter(sampler.choose(["v1", "v2"], rng) for _ in range(2000))
    assert counts["v2"] > 0.98 * 2000, counts
    assert sampler.posterior("v2") == (61.0, 41.0)
    assert sampler.posterior("v1") == (31.0, 71.0)


def test_floors_hold_even_for_a_losing_version() -> None:
    sampler = ThompsonSampler(Bandit(min_weight={"v1": 20.0}))
    _feed(sampler, "v1", 1, 99)
    _feed(sampler, "v2", 90, 10)
    rng = random.Random(9)
    n = 5000
    counts = Counter(sampler.choose(["v1", "v2"], rng) for _ in range(n))
    sd = (n * 0.2 * 0.8) ** 0.5
    assert counts["v1"] >= n * 0.20 - 4 * sd, counts
    assert counts["v1"] <= n * 0.20 + 4 * sd, "beyond its floor the loser is almost never pulled"


def test_the_same_seed_gives_the_same_choices() -> None:
    def run() -> list[str]:
        sampler = ThompsonSampler(Bandit(prior_alpha=2.0, prior_beta=3.0))
        _feed(sampler, "v1", 5, 5)
        rng = random.Random(42)
        return [sampler.choose(["v1", "v2", "v3"], rng) for _ in range(200)]

    assert run() == run()


def test_a_reward_must_be_zero_or_one() -> None:
    sampler = ThompsonSampler(Bandit())
    with pytest.raises(ValueError, match="0 or 1"):
        sampler.reward("v1", 2)
