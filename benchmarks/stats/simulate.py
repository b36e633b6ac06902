"""Count-level traffic simulator: what Prometheus would hold for two versions, per interval.

Requests arrive as Poisson counts split by the canary weight; each request fails with its
version's error probability, has a log-normal latency counted into Prometheus' default buckets,
and a normal prediction score counted into a prediction histogram. Everything is drawn per
interval for many independent runs at once, and every method reads the same draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

Family = Literal["latency", "errors", "drift"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

LATENCY_EDGES: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
"""Prometheus' default histogram buckets (client_golang `DefBuckets`)."""
PREDICTION_EDGES: Final = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, math.inf)
BASE_MEDIAN_LATENCY: Final = 0.1
"""Seconds; with a log-sd of 0.5 the stable's p95 is about 0.23 s."""
LATENCY_LOG_SD: Final = 0.5
BASE_ERROR_RATE: Final = 0.01
SLOW_LATENCY: Final = 0.25
"""A request slower than this bucket edge counts as a bad one when latency regresses."""
INTERVAL_SECONDS: Final = 30.0
LOOKS: Final = 60


@dataclass(frozen=True)
class Scenario:
    """What the candidate does differently; exactly one effect (or none, for A/A)."""

    name: str
    family: Family
    latency_scale: float = 1.0
    error_increase: float = 0.0
    drift_shift: float = 0.0
    """Shift of the candidate's prediction score in standard deviations."""
    beyond_margin: bool = False
    """True where a rollback is the right outcome (the effect exceeds the spec's tolerance)."""
    stable_error_rate: float = BASE_ERROR_RATE
    """Only the checks of whether a tuned threshold carries over change it."""

    @property
    def is_null(self) -> bool:
        return self.latency_scale == 1.0 and self.error_increase == 0.0 and self.drift_shift == 0.0


@dataclass(frozen=True)
class Cell:
    """Traffic level and canary weight."""

    requests_per_second: float
    candidate_weight: float

    @property
    def name(self) -> str:
        return f"{self.requests_per_second:g} rps, {100 * self.candidate_weight:g}%"


@dataclass(frozen=True)
class Streams:
    """Per-interval counts, shape ``(runs, looks)`` or ``(runs, looks, buckets)``."""

    requests_stable: IntArray
    requests_candidate: IntArray
    errors_stable: IntArray
    errors_candidate: IntArray
    latency_stable: IntArray
    """Per-bucket (not cumulative) counts, the +Inf bucket last."""
    latency_candidate: IntArray
    predictions_stable: IntArray
    predictions_candidate: IntArray

    @property
    def runs(self) -> int:
        return int(self.requests_stable.shape[0])

    @property
    def looks(self) -> int:
        return int(self.requests_stable.shape[1])


def latency_bucket_probabilities(scale: float) -> FloatArray:
    """Probability of each default bucket for a log-normal latency scaled by ``scale``."""
    edges = np.asarray(LATENCY_EDGES)
    below = stats.norm.cdf((np.log(edges) - math.log(BASE_MEDIAN_LATENCY * scale)) / LATENCY_LOG_SD)
    return np.asarray(np.diff(below, prepend=0.0), dtype=np.float64)


def prediction_bucket_probabilities(shift: float) -> FloatArray:
    below = stats.norm.cdf(np.asarray(PREDICTION_EDGES) - shift)
    return np.asarray(np.diff(below, prepend=0.0), dtype=np.float64)


def latency_share_above(edge: float, scale: float) -> float:
    """True share of requests slower than ``edge`` (for the oracle and for bad-request counts)."""
    z = (math.log(edge) - math.log(BASE_MEDIAN_LATENCY * scale)) / LATENCY_LOG_SD
    return float(stats.norm.sf(z))


def simulate(cell: Cell, scenario: Scenario, runs: int, seed: int, looks: int = LOOKS) -> Streams:
    """Draw ``runs`` independent analyses of ``looks`` intervals for one cell and scenario."""
    generator = np.random.default_rng(seed)
    shape = (runs, looks)
    expected = cell.requests_per_second * INTERVAL_SECONDS
    requests_stable = generator.poisson(expected * (1 - cell.candidate_weight), shape)
    requests_candidate = generator.poisson(expected * cell.candidate_weight, shape)
    candidate_error_rate = scenario.stable_error_rate + scenario.error_increase
    return Streams(
        requests_stable=requests_stable,
        requests_candidate=requests_candidate,
        errors_stable=generator.binomial(requests_stable, scenario.stable_error_rate),
        errors_candidate=generator.binomial(requests_candidate, candidate_error_rate),
        latency_stable=generator.multinomial(requests_stable, latency_bucket_probabilities(1.0)),
        latency_candidate=generator.multinomial(
            requests_candidate, latency_bucket_probabilities(scenario.latency_scale)
        ),
        predictions_stable=generator.multinomial(requests_stable, prediction_bucket_probabilities(0.0)),
        predictions_candidate=generator.multinomial(
            requests_candidate, prediction_bucket_probabilities(scenario.drift_shift)
        ),
    )


SCENARIOS: Final = (
    Scenario("A/A latency", "latency"),
    Scenario("latency +5%", "latency", latency_scale=1.05),
    Scenario("latency +10%", "latency", latency_scale=1.10),
    Scenario("latency +20%", "latency", latency_scale=1.20, beyond_margin=True),
    Scenario("latency +50%", "latency", latency_scale=1.50, beyond_margin=True),
    Scenario("A/A errors", "errors"),
    Scenario("errors +0.2 pp", "errors", error_increase=0.002),
    Scenario("errors +1 pp", "errors", error_increase=0.01, beyond_margin=True),
    Scenario("errors +5 pp", "errors", error_increase=0.05, beyond_margin=True),
    Scenario("A/A drift", "drift"),
    Scenario("drift 0.25 sd (PSI 0.06)", "drift", drift_shift=0.25),
    Scenario("drift 0.5 sd (PSI 0.24)", "drift", drift_shift=0.5, beyond_margin=True),
    Scenario("drift 1 sd (PSI 0.97)", "drift", drift_shift=1.0, beyond_margin=True),
)

CELLS: Final = tuple(Cell(rps, weight) for rps in (1.0, 1000.0) for weight in (0.05, 0.25, 0.5))
