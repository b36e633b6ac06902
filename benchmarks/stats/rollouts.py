"""Whole rollouts for the full-judge benchmark: one hour of 1-minute looks, weights by step.

Every run carries both metric families (latency and errors) at once, because the operator judges
them together; a scenario moves one of them (or neither, A/A). The canary weight follows the
rollout's steps on a fixed schedule, so a growing canary changes the traffic split between
intervals, which is what evidence carried across steps must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .simulate import BASE_ERROR_RATE, Scenario, Streams, latency_bucket_probabilities

FloatArray = npt.NDArray[np.float64]

ROLLOUT_LOOKS: Final = 60
ROLLOUT_INTERVAL_SECONDS: Final = 60.0
GROWING: Final = (0.05, 0.10, 0.25, 0.50)
"""The canary's weight at each of four equal steps of the growing schedule."""
LATENCY_MARGIN: Final = 0.10
ERROR_MARGIN: Final = 0.005
EFFECT_MULTIPLES: Final = (2.0, 5.0, 10.0, 20.0)
"""Effects as multiples of the margin: 2x the latency margin of +10% is +20%."""


@dataclass(frozen=True)
class RolloutCell:
    """Traffic and the canary's weight per step (equal steps over the rollout's looks)."""

    requests_per_second: float
    weights: tuple[float, ...]
    looks: int = ROLLOUT_LOOKS

    @property
    def name(self) -> str:
        steps = "->".join(f"{100 * w:g}%" for w in self.weights)
        return f"{self.requests_per_second:g} rps, {steps}"

    def weight_per_look(self) -> FloatArray:
        step = np.minimum(np.arange(self.looks) * len(self.weights) // self.looks, len(self.weights) - 1)
        return np.asarray(np.asarray(self.weights)[step], dtype=np.float64)

    def step_starts(self) -> tuple[int, ...]:
        """The first look of each step: where evidence restarts when it is not carried."""
        per_look = np.arange(self.looks) * len(self.weights) // self.looks
        return tuple(int(i) for i in np.flatnonzero(np.diff(per_look, prepend=-1)))


ROLLOUT_CELLS: Final = (
    RolloutCell(1.0, GROWING),
    RolloutCell(10.0, GROWING),
    RolloutCell(10.0, (0.10,)),
    RolloutCell(100.0, GROWING),
)
QUICK_CELLS: Final = (RolloutCell(10.0, GROWING),)


def rollout_scenarios() -> tuple[Scenario, ...]:
    """A/A, both families exactly at the margin, and effects of 2x to 20x each margin."""
    scenarios = [
        Scenario("A/A", "latency"),
        Scenario(f"latency +{LATENCY_MARGIN:.0%} (margin)", "latency", latency_scale=1 + LATENCY_MARGIN),
        Scenario(f"errors +{100 * ERROR_MARGIN:g} pp (margin)", "errors", error_increase=ERROR_MARGIN),
    ]
    for multiple in EFFECT_MULTIPLES:
        scale = 1 + multiple * LATENCY_MARGIN
        scenarios.append(
            Scenario(f"latency +{multiple * LATENCY_MARGIN:.0%}", "latency", scale, beyond_margin=True)
        )
    for multiple in EFFECT_MULTIPLES:
        increase = multiple * ERROR_MARGIN
        scenarios.append(
            Scenario(f"errors +{100 * increase:g} pp", "errors", error_increase=increase, beyond_margin=True)
        )
    return tuple(scenarios)


def simulate_rollout(cell: RolloutCell, scenario: Scenario, runs: int, seed: int) -> Streams:
    """Per-interval counts of ``runs`` rollouts; predictions are not simulated (empty)."""
    generator = np.random.default_rng(seed)
    shape = (runs, cell.looks)
    expected = cell.requests_per_second * ROLLOUT_INTERVAL_SECONDS
    weights = cell.weight_per_look()
    requests_stable = generator.poisson(expected * (1 - weights), shape)
    requests_candidate = generator.poisson(expected * weights, shape)
    stable_rate = BASE_ERROR_RATE
    empty = np.zeros((*shape, 0), dtype=np.int64)
    return Streams(
        requests_stable=requests_stable,
        requests_candidate=requests_candidate,
        errors_stable=generator.binomial(requests_stable, stable_rate),
        errors_candidate=generator.binomial(requests_candidate, stable_rate + scenario.error_increase),
        latency_stable=generator.multinomial(requests_stable, latency_bucket_probabilities(1.0)),
        latency_candidate=generator.multinomial(
            requests_candidate, latency_bucket_probabilities(scenario.latency_scale)
        ),
        predictions_stable=empty,
        predictions_candidate=empty,
    )
