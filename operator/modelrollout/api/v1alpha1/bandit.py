"""`spec.strategy.bandit`: a multi-armed bandit between the stable and the candidate.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from pydantic import Field

from ._model import ApiModel, require
from .analysis_spec import AnalysisSpec
from .bandit_rules import BANDIT_MAX_DURATION_COVERS_INTERVAL, BANDIT_NEEDS_PROMETHEUS, BANDIT_NEEDS_ROUTER
from .durations import DURATION_PATTERN
from .enums import StrategyType, TrafficProvider
from .experiment_checks import check_experiment_bounds

__all__ = ["BanditArm", "BanditPrior", "BanditStatus", "BanditStrategy", "check_bandit", "initial_weight"]


class BanditPrior(ApiModel):
    """The Beta prior of every version's reward rate."""

    alpha: float = Field(default=1.0, gt=0, le=1_000_000)
    """Prior successes (plus one): Beta(1, 1), the default, is uniform."""
    beta: float = Field(default=1.0, gt=0, le=1_000_000)
    """Prior failures (plus one). A larger pair with the stable's known rate as its mean shrinks
    early estimates towards it."""


class BanditStrategy(ApiModel):
    """Split traffic by Thompson sampling on a reward, recomputed every `analysis.interval`.

    The reward is the router's feedback: your application POSTs `{"requestId": ..., "reward": 0
    or 1}` (or `{"version": ..., "reward": ...}`) to the router's `/feedback`, and the router
    counts each version's pulls, rewards received and rewards of 1 (needs `traffic.provider:
    router`). Every interval the operator reads those counters from Prometheus since the bandit
    started, gives each version a Beta posterior, and sets its weight to its posterior
    probability of being the best version, held back by `stableFloor` and `maxStep`. It stops
    when one version is best with probability `stopProbability` (after `minRewards` each): the
    candidate best is promoted; the stable best fails the analysis (`analysis.onFailure`,
    rollback by default). No stop by `maxDuration`: `analysis.onInconclusive`. Guardrail metrics
    in `analysis.metrics` (latency, errors), if any, are judged every interval too; one that
    fails ends the bandit at once (`analysis.onFailure`)."""

    stable_floor: int = Field(default=10, ge=0, le=90)
    """Percent of requests the stable keeps at least, whatever the posteriors say: users keep a
    known-good version and the stable stays a live comparison."""
    max_step: int = Field(default=20, ge=1, le=100)
    """Percentage points a version's weight may move per interval: damps a burst of feedback. The
    bandit starts the candidate at min(50, maxStep, 100 - stableFloor) percent."""
    stop_probability: float = Field(default=0.95, gt=0.5, le=1.0)
    """Stop when one version is best with at least this posterior probability. A Bayesian rule,
    not an error-controlled test: between equal versions it is reached sooner or later; raise it
    (0.99) or `minRewards` to stop on the wrong version less often."""
    min_rewards: int = Field(default=100, ge=0, le=100_000_000)
    """Rewards (feedback of 0 or 1) each version must have received before the bandit may stop:
    with a handful a lucky streak reaches any probability."""
    exploration_floor: int = Field(default=10, ge=0, le=50)
    """Percent each version keeps at least until it has `minRewards` rewards: a candidate that
    starts badly still gathers the rewards that let the bandit stop (and roll it back) rather
    than starve at 0% until `maxDuration`. At most 100 - `stableFloor` is applied."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """How long the bandit may run without a stop before `analysis.onInconclusive` applies;
    unset: `analysis.maxDuration`."""
    prior: BanditPrior = Field(default_factory=BanditPrior)
    """The Beta prior of every version's reward rate."""


def initial_weight(bandit: BanditStrategy) -> int:
    """The candidate's first weight: the policy's first move from 0 with no evidence (an even
    split), within the step limit and the stable's floor."""
    return min(50, bandit.max_step, 100 - bandit.stable_floor)


class BanditArm(ApiModel):
    """One version's posterior and counters."""

    version: str
    """The version (the stable first)."""
    weight: float
    """Percent of requests it is given for the next interval."""
    alpha: float
    """Beta posterior: prior alpha + rewards of 1."""
    beta: float
    """Beta posterior: prior beta + rewards of 0."""
    mean: float
    """Posterior mean reward rate."""
    low: float
    """Lower end of the 95% credible interval of the reward rate."""
    high: float
    """Upper end of that interval."""
    probability_best: float
    """Posterior probability that this version's reward rate is the highest."""
    pulls: float
    """Requests the router sent it since the bandit started."""
    rewards: float
    """Rewards received for it (0 or 1)."""
    successes: float
    """Rewards of 1 among them."""


class BanditStatus(ApiModel):
    """`status.bandit`: where the bandit stands."""

    candidate: str
    """The candidate this bandit runs for."""
    decision: str = "Collecting"
    """Collecting (no stop yet), CandidateBest (promoted, or being promoted), StableBest (the
    candidate lost: `analysis.onFailure`), NoStop (`maxDuration` passed: `onInconclusive`),
    GuardrailFailed, or, when the rollout stopped before the bandit did: Aborted (by a person),
    Superseded (the spec asked for a newer candidate, or none), DeadlineExceeded (a weight move
    missed `spec.progressDeadline`: `onFailure`). A stop reached stands: an abort after
    CandidateBest keeps it (the abort is in `phase` and `history`)."""
    arms: list[BanditArm] = Field(default_factory=list, max_length=16)
    """The stable first, then the candidate."""
    winner: str | None = None
    """The version found best with the stop probability, once the bandit stopped."""
    weights: dict[str, float] = Field(default_factory=dict, max_length=16)
    """The weights the last decision set (the rollout's `weights` follow once capacity is in place)."""
    expected_regret: float | None = None
    """Rewards lost so far against always serving the best version, as the posteriors estimate it."""
    intervals: int = 0
    """Intervals decided so far."""
    last_decision: str | None = None
    """The end of the last interval decided (RFC 3339)."""
    message: str = ""
    """The policy's explanation at the last decision."""


def check_bandit(
    strategy: StrategyType,
    bandit: BanditStrategy | None,
    provider: TrafficProvider,
    analysis: AnalysisSpec,
    has_candidate: bool,
) -> None:
    """`bandit_rules`, for pydantic: only the router counts pulls and takes rewards, and the
    counters are read from its series."""
    refusal = BANDIT_NEEDS_ROUTER.get(provider)
    if bandit is not None and refusal is not None:
        require(False, refusal)
    if strategy != StrategyType.BANDIT:
        return
    longest = bandit.max_duration if bandit is not None else None
    check_experiment_bounds(
        longest, analysis, has_candidate, BANDIT_NEEDS_PROMETHEUS, BANDIT_MAX_DURATION_COVERS_INTERVAL
    )
