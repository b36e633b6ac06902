"""The operator's bandit: one decision per interval from the router's counters.

The router counts, per version, the requests its bandit sent (`ROUTER_BANDIT_PULLS`), the rewards
posted to `/feedback` (`ROUTER_BANDIT_FEEDBACK`, each 0 or 1) and those of 1
(`ROUTER_BANDIT_REWARDS`). A version's posterior is Beta(prior + rewards, prior + feedback -
rewards): a pull whose reward has not arrived says nothing yet, so pulls only price the regret.

Everything here is a function of those cumulative counters and of the weights in force, so an
operator that restarts (or a second replica that takes over) decides exactly as the first would
have: there is no state to lose. The weights follow Thompson sampling (each arm's share is its
posterior probability of being best, see `posterior.py`), held back by the guards of
`weights.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .posterior import BetaPosterior, best_arm
from .weights import guarded_weights


@dataclass(frozen=True)
class ArmCounts:
    """One version's cumulative bandit counters since the experiment started."""

    version: str
    pulls: float
    """Requests the router's bandit sent to this version (prices the regret)."""
    feedback: float
    """Rewards received for it, 0 or 1 (the trials of its Beta-Bernoulli model)."""
    rewards: float
    """Rewards of 1 among them (the successes)."""


@dataclass(frozen=True)
class BanditSettings:
    """How the weights may move and when the experiment ends."""

    stable_floor: float = 10.0
    """Percent the stable (the first arm) keeps at least, whatever the posteriors say: it stays a
    live comparison, and users keep a known-good version while the evidence is thin."""
    max_step: float = 20.0
    """Percentage points a weight may move per interval: damps a burst of feedback or a delayed
    reward that favours the arm pulled earlier."""
    stop_probability: float = 0.95
    """The experiment stops when one arm is best with at least this posterior probability."""
    min_feedback: float = 100.0
    """Rewards each arm must have received before the experiment may stop: with a handful of
    rewards a lucky streak reaches any probability (the benchmark's A/A false stops show it)."""
    exploration_floor: float = 0.0
    """Percent every arm keeps at least while it has fewer than `min_feedback` rewards (0: none).
    Without it a candidate that starts badly loses its weight before it has the rewards a stop
    needs, and the experiment can only time out; with it the loser keeps gathering them."""
    prior_alpha: float = 1.0
    """Beta prior on every arm: Beta(1, 1) is uniform; a larger pair with the mean of the
    stable's known rate shrinks early estimates towards it."""
    prior_beta: float = 1.0
    credible_level: float = 0.95
    """Mass of each posterior's reported credible interval."""
    resolution: float = 1.0
    """Grid of the weights, in percent (1: whole percents; 0.1 or 0.01 for finer splits when
    intervals carry enough requests to resolve them). Must divide 100."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.stable_floor <= 100.0:
            raise ValueError(f"stable_floor is a percent, not {self.stable_floor}")
        if self.max_step <= 0.0:
            raise ValueError(f"max_step must be positive, not {self.max_step}")
        if not 0.5 < self.stop_probability <= 1.0:
            raise ValueError(f"stop_probability must be in (0.5, 1], not {self.stop_probability}")
        if self.prior_alpha <= 0.0 or self.prior_beta <= 0.0:
            raise ValueError("prior_alpha and prior_beta (the Beta prior) must be positive")
        if not 0.0 <= self.exploration_floor <= 100.0:
            raise ValueError(f"exploration_floor is a percent, not {self.exploration_floor}")
        if self.min_feedback < 0.0:
            raise ValueError(f"min_feedback must not be negative, not {self.min_feedback}")
        if not 0.0 < self.credible_level < 1.0:
            raise ValueError(f"credible_level must be in (0, 1), not {self.credible_level}")


@dataclass(frozen=True)
class ArmReport:
    """One version as the status shows it."""

    version: str
    weight: float
    """The percent of requests it gets next interval."""
    alpha: float
    beta: float
    mean: float
    """Posterior mean reward rate."""
    low: float
    high: float
    """Equal-tailed credible interval of the reward rate (`credible_level`)."""
    probability_best: float
    """Posterior probability that its rate is the highest (its Thompson share before guards)."""
    pulls: float
    feedback: float
    rewards: float


@dataclass(frozen=True)
class BanditDecision:
    """What the operator does this interval."""

    arms: tuple[ArmReport, ...]
    stop: bool
    """True: one arm is best with `stop_probability` and every arm has `min_feedback` rewards."""
    winner: str | None
    """The arm to promote when `stop` (it may be the stable: the candidate then lost)."""
    expected_regret: float
    """Rewards lost so far against always pulling the best arm, in expectation under the
    posteriors: sum of pulls x (E[max rate] - E[arm's rate])."""
    message: str

    @property
    def weights(self) -> dict[str, float]:
        return {arm.version: arm.weight for arm in self.arms}


def _check(arms: Sequence[ArmCounts]) -> None:
    names = [arm.version for arm in arms]
    if not arms or len(set(names)) != len(names):
        raise ValueError(f"the bandit needs distinct versions, got {names}")
    for arm in arms:
        if min(arm.pulls, arm.feedback, arm.rewards) < 0.0:
            raise ValueError(f"counters of {arm.version} are negative: {arm}")


def bandit_decision(
    arms: Sequence[ArmCounts], previous: Mapping[str, float], settings: BanditSettings
) -> BanditDecision:
    """The next weights, the posteriors and whether to stop. The first arm is the stable.

    `previous` holds the weights in force (a version missing from it had 0). The counters are
    cumulative; `rewards` is clipped to `feedback` (two series read from rates may be a hair
    apart).
    """
    _check(arms)
    posteriors = [
        BetaPosterior(
            settings.prior_alpha + min(arm.rewards, arm.feedback),
            settings.prior_beta + arm.feedback - min(arm.rewards, arm.feedback),
        )
        for arm in arms
    ]
    best = best_arm(posteriors)
    floors = [settings.stable_floor] + [0.0] * (len(arms) - 1)
    if settings.exploration_floor > 0.0:
        floors = [
            max(floor, settings.exploration_floor) if arm.feedback < settings.min_feedback else floor
            for floor, arm in zip(floors, arms, strict=True)
        ]
    weights = guarded_weights(
        [100.0 * p for p in best.probabilities],
        [previous.get(arm.version, 0.0) for arm in arms],
        floors,
        settings.max_step,
        settings.resolution,
    )
    reports = []
    for arm, posterior, probability, weight in zip(
        arms, posteriors, best.probabilities, weights, strict=True
    ):
        low, high = posterior.credible_interval(settings.credible_level)
        reports.append(
            ArmReport(
                arm.version,
                weight,
                posterior.alpha,
                posterior.beta,
                posterior.mean,
                low,
                high,
                probability,
                arm.pulls,
                arm.feedback,
                arm.rewards,
            )
        )
    regret = sum(
        arm.pulls * max(best.expected_max - p.mean, 0.0) for arm, p in zip(arms, posteriors, strict=True)
    )
    leader = max(range(len(arms)), key=lambda i: best.probabilities[i])
    confident = best.probabilities[leader] >= settings.stop_probability
    short = [arm.version for arm in arms if arm.feedback < settings.min_feedback]
    stop = confident and not short and len(arms) > 1
    leader_name, leader_p = arms[leader].version, best.probabilities[leader]
    if stop:
        message = f"{leader_name} is best with probability {leader_p:.3f}"
    elif confident and short:
        message = (
            f"{leader_name} leads with probability {leader_p:.3f}, but {', '.join(short)} "
            f"has fewer than {settings.min_feedback:g} rewards"
        )
    else:
        message = f"{leader_name} leads with probability {leader_p:.3f} < {settings.stop_probability}"
    return BanditDecision(tuple(reports), stop, leader_name if stop else None, regret, message)


def regret_against(pulls: Sequence[float], true_rates: Sequence[float]) -> float:
    """Rewards lost against the true best rate (in a simulation, where the rates are known)."""
    best = max(true_rates)
    return sum(n * (best - rate) for n, rate in zip(pulls, true_rates, strict=True))
