"""Bernoulli arms served in intervals: the operator's bandit against a fixed split and
epsilon-greedy, on the same seeded streams.

Each interval sends `requests` requests by the weights in force (a multinomial draw, as the
router's weighted split does), every request's reward (0 or 1) arrives before the next decision,
and the policy sets the next weights from the cumulative counters alone. When the operator's
policy stops, the winner gets every later request (it is promoted); the baselines never stop.
Regret is counted against the true rates: what always serving the best arm would have earned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelrollout.analysis import ArmCounts, BanditSettings, bandit_decision, regret_against

OPERATOR = "operator (Thompson, floor 10%, step 20)"
UNGUARDED = "Thompson, no floor, no step, no stop"
FIXED = "fixed 50/50"
EPSILON = "epsilon-greedy (0.1)"
POLICIES = (OPERATOR, UNGUARDED, FIXED, EPSILON)
VERSIONS = ("stable", "candidate")


@dataclass(frozen=True)
class Scenario:
    name: str
    rates: tuple[float, float]
    """True reward rates of (stable, candidate)."""


SCENARIOS = (
    Scenario("5% vs 6%", (0.05, 0.06)),
    Scenario("A/A 5% vs 5%", (0.05, 0.05)),
    Scenario("5% vs 10%", (0.05, 0.10)),
)


@dataclass(frozen=True)
class ArmsSettings:
    runs: int = 200
    intervals: int = 100
    requests: int = 1000
    """Requests per interval."""
    seed: int = 2027
    operator: BanditSettings = field(default_factory=BanditSettings)


@dataclass
class RunOutcome:
    regret: float
    """Against the true rates, over the whole horizon."""
    expected_regret: float
    """The operator's posterior estimate of the regret so far, at its last decision (the stop or
    the horizon; 0 for the baselines)."""
    regret_at_decision: float
    """The true regret at that same moment, which the estimate estimates."""
    best_found: bool
    """Stopped on the best arm (A/A: never), or for policies that never stop, the best arm has
    the higher observed rate at the end."""
    stopped_at: int | None
    """Requests served when the policy stopped (None: it never did)."""
    winner: str | None


Weights = dict[str, float]
Policy = Callable[[list[ArmCounts], Weights, np.random.Generator], tuple[Weights, str | None, float]]
"""counters, weights in force, rng -> next weights, the winner when it stops, expected regret."""


def _operator(rule: BanditSettings) -> Policy:
    def decide(
        arms: list[ArmCounts], weights: Weights, rng: np.random.Generator
    ) -> tuple[Weights, str | None, float]:
        decision = bandit_decision(arms, weights, rule)
        return decision.weights, decision.winner, decision.expected_regret

    return decide


def _fixed(
    arms: list[ArmCounts], weights: Weights, rng: np.random.Generator
) -> tuple[Weights, str | None, float]:
    return {v: 100.0 / len(arms) for v in VERSIONS}, None, 0.0


def _epsilon_greedy(
    arms: list[ArmCounts], weights: Weights, rng: np.random.Generator
) -> tuple[Weights, str | None, float]:
    """90% to the arm with the best observed rate (a tie goes to a random arm), 10% spread evenly."""
    observed = np.array([a.rewards / a.feedback if a.feedback else 0.0 for a in arms])
    leaders = np.flatnonzero(observed == observed.max())
    leader = int(rng.choice(leaders))
    share = 10.0 / len(arms)
    return {a.version: share + (90.0 if i == leader else 0.0) for i, a in enumerate(arms)}, None, 0.0


def policies(rule: BanditSettings) -> dict[str, Policy]:
    loose = BanditSettings(stable_floor=0.0, max_step=100.0, stop_probability=1.0, resolution=0.1)
    return {OPERATOR: _operator(rule), UNGUARDED: _operator(loose), FIXED: _fixed, EPSILON: _epsilon_greedy}


def run_once(
    scenario: Scenario, policy: Policy, settings: ArmsSettings, rng: np.random.Generator
) -> RunOutcome:
    rates = np.array(scenario.rates)
    pulls, rewards = np.zeros(2), np.zeros(2)
    weights: Weights = {v: 50.0 for v in VERSIONS}
    winner: str | None = None
    stopped_at: int | None = None
    estimate, at_decision = 0.0, 0.0
    for _ in range(settings.intervals):
        shares = np.array([weights.get(v, 0.0) for v in VERSIONS]) / 100.0
        sent = rng.multinomial(settings.requests, shares / shares.sum())
        pulls += sent
        rewards += rng.binomial(sent, rates)
        if winner is not None:
            continue
        arms = [ArmCounts(v, pulls[i], pulls[i], rewards[i]) for i, v in enumerate(VERSIONS)]
        weights, winner, estimate = policy(arms, weights, rng)
        at_decision = regret_against(pulls.tolist(), rates.tolist())
        if winner is not None:
            stopped_at = int(pulls.sum())
            weights = {v: (100.0 if v == winner else 0.0) for v in VERSIONS}
    best = int(np.argmax(rates)) if rates[0] != rates[1] else None
    regret = regret_against(pulls.tolist(), rates.tolist())
    if winner is not None:
        found = best is not None and winner == VERSIONS[best]
    else:
        observed = rewards / np.maximum(pulls, 1.0)
        found = best is not None and observed[best] > observed[1 - best]
    return RunOutcome(float(regret), float(estimate), float(at_decision), bool(found), stopped_at, winner)


def _summary(outcomes: Sequence[RunOutcome], scenario: Scenario, stops: bool) -> dict[str, Any]:
    regret = np.array([o.regret for o in outcomes])
    stopped = [o.stopped_at for o in outcomes if o.stopped_at is not None]
    aa = scenario.rates[0] == scenario.rates[1]
    summary: dict[str, Any] = {
        "regret_mean": float(regret.mean()),
        "regret_p50": float(np.percentile(regret, 50)),
        "regret_p90": float(np.percentile(regret, 90)),
        "regret_p99": float(np.percentile(regret, 99)),
        "best_found": None if aa else float(np.mean([o.best_found for o in outcomes])),
    }
    if stops:
        summary["stop_rate"] = len(stopped) / len(outcomes)
        summary["stop_requests_p50"] = float(np.median(stopped)) if stopped else None
        summary["stop_requests_p90"] = float(np.percentile(stopped, 90)) if stopped else None
        summary["wrong_stops"] = float(
            np.mean([o.stopped_at is not None and not o.best_found for o in outcomes])
        )
        summary["expected_regret_mean"] = float(np.mean([o.expected_regret for o in outcomes]))
        summary["regret_at_decision_mean"] = float(np.mean([o.regret_at_decision for o in outcomes]))
    return summary


def run_arms(settings: ArmsSettings) -> dict[str, Any]:
    """Every scenario under every policy, each on its own seeded streams (the same seed per run
    for every policy, so run i of each policy starts from the same generator state)."""
    table: dict[str, Any] = {}
    for s, scenario in enumerate(SCENARIOS):
        row: dict[str, Any] = {}
        for name, policy in policies(settings.operator).items():
            outcomes = [
                run_once(scenario, policy, settings, np.random.default_rng([settings.seed, s, run]))
                for run in range(settings.runs)
            ]
            row[name] = _summary(outcomes, scenario, stops=name == OPERATOR)
        table[scenario.name] = {"rates": list(scenario.rates), "policies": row}
    return {
        "runs": settings.runs,
        "intervals": settings.intervals,
        "requests_per_interval": settings.requests,
        "operator_settings": {
            "stable_floor": settings.operator.stable_floor,
            "max_step": settings.operator.max_step,
            "stop_probability": settings.operator.stop_probability,
            "min_feedback": settings.operator.min_feedback,
        },
        "scenarios": table,
    }


STOP_RULES = ((0.95, 100.0), (0.95, 1000.0), (0.99, 100.0), (0.99, 1000.0))
"""(stop_probability, min_feedback) pairs of the stop-rule table: the default and stricter ones."""


def run_stop_rules(
    settings: ArmsSettings, rules: Sequence[tuple[float, float]] = STOP_RULES
) -> list[dict[str, Any]]:
    """What the stop rule trades: false stops between equal arms against wrong stops, regret and
    time to stop on a small real difference (the operator's policy, other settings as given)."""
    rows = []
    hard, equal = SCENARIOS[0], SCENARIOS[1]
    for probability, minimum in rules:
        rule = BanditSettings(
            stable_floor=settings.operator.stable_floor,
            max_step=settings.operator.max_step,
            stop_probability=probability,
            min_feedback=minimum,
        )
        row: dict[str, Any] = {"stop_probability": probability, "min_feedback": minimum}
        for s, scenario in ((1, equal), (0, hard)):
            outcomes = [
                run_once(scenario, _operator(rule), settings, np.random.default_rng([settings.seed, s, run]))
                for run in range(settings.runs)
            ]
            row[scenario.name] = _summary(outcomes, scenario, stops=True)
        rows.append(row)
    return rows
