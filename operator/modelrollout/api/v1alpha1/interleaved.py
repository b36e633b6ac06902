"""`spec.strategy.interleaved`: an interleaving experiment between the stable's and the
candidate's rankings, through the model router.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from pydantic import Field

from . import interleaved_rules as rules
from ._model import ApiModel, require
from .analysis_spec import AnalysisSpec
from .durations import DURATION_PATTERN
from .enums import InconclusivePolicy, StrategyType, TrafficProvider
from .experiment_checks import check_experiment_bounds

LIST_FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
"""A JSON field name of the model's answer (`ranking`, `items`)."""
INTERLEAVING_METRIC = "interleaving"
"""The name the experiment's test has in `status.analysis.metrics`, beside the guardrails."""
DEFAULT_MIN_IMPRESSIONS = 100


class InterleavedStrategy(ApiModel):
    """Merge both versions' ranked lists into the one list every user sees (team-draft
    interleaving, by the model router), credit each impression to the version whose items got
    more clicks (`POST /feedback` to the router), and promote the candidate when users are shown
    to prefer its ranking; roll it back when they are shown to prefer the stable's (the
    sequential test on per-impression wins, valid however often it is read). Needs
    `traffic.provider: router`. The candidate answers every ranking request beside the stable, so
    it runs at `spec.replicas`; it never answers a user alone. Metrics in `spec.analysis.metrics`
    (latency, errors) are its guardrails: all must pass too."""

    list_field: str = Field(default="ranking", pattern=LIST_FIELD_PATTERN, max_length=63)
    """The field of the model's answer holding the ranked list of item ids (at the top level, or in
    `predictions[0]`)."""
    length: int = Field(default=10, ge=1, le=1000)
    """How many items the merged list users see holds."""
    alpha: float | None = Field(default=None, gt=0, lt=0.5)
    """The chance, over the whole experiment, of a decision when users have no preference; unset:
    `analysis.alpha`."""
    min_impressions: int = Field(default=DEFAULT_MIN_IMPRESSIONS, ge=1, le=100_000_000)
    """Impressions credited (clicked or not, ties included) before any decision."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """How long the experiment runs at most before `onInconclusive` applies; unset:
    `analysis.maxDuration`."""
    on_inconclusive: InconclusivePolicy | None = None
    """What to do when `maxDuration` passes with no preference shown: pause, rollback or promote;
    unset: `analysis.onInconclusive`."""


class InterleavingRoute(ApiModel):
    """The interleaving in force (`status.routes.interleaving`): the router's `interleaving`
    block while the experiment runs."""

    versions: list[str] = Field(min_length=2, max_length=2)
    """The stable, then the candidate."""
    list_field: str = Field(pattern=LIST_FIELD_PATTERN, max_length=63)
    """The answer's field holding the ranked list."""
    length: int = Field(ge=1, le=1000)
    """The merged list's length."""


class InterleavedStatus(ApiModel):
    """`status.interleaved`: where the interleaving experiment stands."""

    decision: str = "Collecting"
    """Collecting (no decision yet), CandidatePreferred (promoted, or being promoted),
    StablePreferred (rolled back, or `onFailure`), GuardrailFailed, NoPreference (`maxDuration`
    passed: `onInconclusive`), or, when the rollout stopped before a decision: Aborted (by a
    person), Superseded (the spec asked for a newer candidate, or none), DeadlineExceeded
    (capacity missed `spec.progressDeadline`: `onFailure`). A decision reached stands: an abort
    after CandidatePreferred keeps it (the abort is in `phase` and `history`). The
    InterleavingDecided Event announces CandidatePreferred, StablePreferred and NoPreference only."""
    verdict: str | None = None
    """The test's verdict at the last look: Pass (users prefer the candidate), Fail (they prefer
    the stable) or Inconclusive."""
    impressions: int = 0
    """Impressions credited since the experiment started (clicked or not)."""
    candidate_wins: int = 0
    """Impressions whose clicks went more to the candidate's items."""
    stable_wins: int = 0
    """Impressions whose clicks went more to the stable's items."""
    ties: int = 0
    """Impressions with as many clicks on each side's items (no clicks included)."""
    win_share: float | None = None
    """Candidate wins over impressions won by either side (0.5: no preference)."""
    interval_low: float | None = None
    """Lower end of the anytime-valid confidence interval of the win share."""
    interval_high: float | None = None
    """Upper end of that interval."""
    e_value: float | None = None
    """Evidence against "no preference"; a decision at 1/alpha."""
    min_impressions: int = DEFAULT_MIN_IMPRESSIONS
    """Impressions needed before a decision."""
    started_at: str | None = None
    """When the merged lists started (RFC 3339)."""
    ends_at: str | None = None
    """When `maxDuration` ends the experiment at the latest (RFC 3339)."""
    intervals: int = 0
    """Analysis intervals judged so far."""
    message: str = ""
    """The test's explanation at the last look."""


def interleaving_route(stable: str, candidate: str, strategy: InterleavedStrategy) -> InterleavingRoute:
    """The router's interleaving for `strategy`, stable first (the order of the router's lists)."""
    return InterleavingRoute(
        versions=[stable, candidate], list_field=strategy.list_field, length=strategy.length
    )


def check_interleaved(
    strategy: StrategyType,
    interleaved: InterleavedStrategy | None,
    provider: TrafficProvider,
    analysis: AnalysisSpec,
    has_candidate: bool,
) -> None:
    """`interleaved_rules`, for pydantic: only the router merges rankings, and the wins are read
    from its series."""
    if strategy != StrategyType.INTERLEAVED:
        return
    require(provider == TrafficProvider.ROUTER, rules.INTERLEAVED_NEEDS_ROUTER)
    longest = interleaved.max_duration if interleaved is not None else None
    check_experiment_bounds(
        longest,
        analysis,
        has_candidate,
        rules.INTERLEAVED_NEEDS_PROMETHEUS,
        rules.INTERLEAVED_MAX_DURATION_COVERS_INTERVAL,
    )
