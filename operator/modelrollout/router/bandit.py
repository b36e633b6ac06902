"""Thompson sampling over Beta-Bernoulli rewards: each version's posterior is
Beta(priorAlpha + rewards of 1, priorBeta + rewards of 0); a request goes to the version whose
draw from its posterior is highest, so versions are pulled as often as they are likely the best.

The floors (`minWeight`, percent) are honoured by routing that share of requests by the floors
alone (in proportion to them) and the rest by sampling, so a version with floor f gets at least
f percent whatever its rewards: the stable keeps enough traffic to stay comparable.

The posterior lives in the router's memory: it restarts from the prior with the process, and
each replica learns from the feedback it receives.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..api.router_config import Bandit


class ThompsonSampler:
    def __init__(self, settings: Bandit) -> None:
        self.settings = settings
        self._successes: dict[str, int] = {}
        self._failures: dict[str, int] = {}

    def reconfigure(self, settings: Bandit) -> None:
        """New priors or floors; the rewards learned so far are kept."""
        self.settings = settings

    def posterior(self, version: str) -> tuple[float, float]:
        """(alpha, beta) of `version`'s Beta posterior."""
        return (
            self.settings.prior_alpha + self._successes.get(version, 0),
            self.settings.prior_beta + self._failures.get(version, 0),
        )

    def reward(self, version: str, reward: int) -> None:
        if reward not in (0, 1):
            raise ValueError(f"a reward is 0 or 1, not {reward!r}")
        counts = self._successes if reward == 1 else self._failures
        counts[version] = counts.get(version, 0) + 1

    def choose(self, versions: Sequence[str], rng: random.Random) -> str:
        floors = [(v, self.settings.min_weight.get(v, 0.0)) for v in versions]
        floor_total = sum(weight for _, weight in floors)
        if floor_total > 0.0 and rng.random() * 100.0 < floor_total:
            point = rng.random() * floor_total
            for version, weight in floors:
                point -= weight
                if point < 0.0 and weight > 0.0:
                    return version
        best, best_draw = versions[0], -1.0
        for version in versions:
            draw = rng.betavariate(*self.posterior(version))
            if draw > best_draw:
                best, best_draw = version, draw
        return best
