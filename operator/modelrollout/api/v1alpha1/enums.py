"""Every enum of the API, documented once: phases, verdicts, condition types and reasons.

They are `StrEnum`s so they serialise as the plain strings the CRD and `kubectl` show.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a ModelRollout is in its life; `status.phase`."""

    PENDING = "Pending"
    """Accepted, nothing deployed yet (or waiting for a dependency / a missing object)."""
    PROGRESSING = "Progressing"
    """The candidate is running and its steps are being executed."""
    PAUSED = "Paused"
    """Steps are on hold: a pause step without duration, `spec.paused`, a manual pause, an
    inconclusive analysis with `onInconclusive: pause`, or a cascade from an upstream failure."""
    PROMOTING = "Promoting"
    """All steps passed: the candidate is being scaled to full size and made the stable."""
    PROMOTED = "Promoted"
    """The candidate is the stable version now; the rollout is finished."""
    ROLLING_BACK = "RollingBack"
    """A failure or an abort: traffic is being returned to the stable version."""
    ROLLED_BACK = "RolledBack"
    """The candidate is at zero weight and zero replicas; final until `retry` or a new candidate."""
    FAILED = "Failed"
    """The spec cannot be acted on (missing Service, dependency cycle, ...); traffic untouched."""


class Verdict(StrEnum):
    """The outcome of one analysis: `status.analysis.verdict` and per metric."""

    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    """Not enough evidence either way: too few samples, no data, or Prometheus unreachable."""


class StrategyType(StrEnum):
    """Rollout strategies that work today (the list grows with the code, never before it)."""

    CANARY = "Canary"


class TrafficProvider(StrEnum):
    """How weights become traffic. `replicas`: the ratio of ready replicas behind one Service."""

    REPLICAS = "replicas"


class AnalysisMethod(StrEnum):
    SEQUENTIAL = "sequential"
    """Anytime-valid tests: valid however often the operator looks (default)."""
    FIXED = "fixed"
    """Classical fixed-horizon tests, decided once at the end of the analysis window."""


class MetricType(StrEnum):
    LATENCY = "latency"
    ERROR_RATE = "errorRate"
    DRIFT = "drift"
    CUSTOM = "custom"
    RESOURCE = "resource"
    ERROR_PATTERN = "errorPattern"


class DriftStatistic(StrEnum):
    PSI = "psi"
    JENSEN_SHANNON = "jensenShannon"
    HELLINGER = "hellinger"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    CHI_SQUARE = "chiSquare"


class InconclusivePolicy(StrEnum):
    PAUSE = "pause"
    ROLLBACK = "rollback"
    PROMOTE = "promote"


class FailurePolicy(StrEnum):
    ROLLBACK = "rollback"
    PAUSE = "pause"


class UpstreamFailurePolicy(StrEnum):
    """What a downstream rollout does when a model it depends on fails (cascade)."""

    PAUSE = "pause"
    ROLLBACK = "rollback"


class ConditionType(StrEnum):
    READY = "Ready"
    """The stable version is serving (its Deployment is Available)."""
    PROGRESSING = "Progressing"
    """A rollout is under way (True) or finished (False, with the outcome as reason)."""
    ANALYSIS_PASSING = "AnalysisPassing"
    """The last analysis verdict was Pass (True), Fail (False) or Inconclusive (Unknown)."""
    DEGRADED = "Degraded"
    """Something needs a person: invalid references, cycles, unavailable candidate, rollback."""


class Reason(StrEnum):
    """Condition and Event reasons (CamelCase, as Kubernetes expects)."""

    STABLE_AVAILABLE = "StableAvailable"
    STABLE_UNAVAILABLE = "StableUnavailable"
    ROLLOUT_STARTED = "RolloutStarted"
    STEP_COMPLETED = "StepCompleted"
    WAITING_FOR_CANDIDATE = "WaitingForCandidate"
    PAUSED_BY_STEP = "PausedByStep"
    PAUSED_BY_USER = "PausedByUser"
    PAUSED_INCONCLUSIVE = "PausedInconclusive"
    PAUSED_ON_FAILURE = "PausedOnFailure"
    WAITING_FOR_DEPENDENCY = "WaitingForDependency"
    UPSTREAM_FAILED = "UpstreamFailed"
    ANALYSIS_PASSED = "AnalysisPassed"
    ANALYSIS_FAILED = "AnalysisFailed"
    ANALYSIS_INCONCLUSIVE = "AnalysisInconclusive"
    PROMOTED = "Promoted"
    PROMOTED_MANUALLY = "PromotedManually"
    ROLLED_BACK = "RolledBack"
    ABORTED = "Aborted"
    SUPERSEDED = "Superseded"
    SERVICE_NOT_FOUND = "ServiceNotFound"
    INVALID_TEMPLATE = "InvalidTemplate"
    DEPENDENCY_CYCLE = "DependencyCycle"
    DEPENDENCY_NOT_FOUND = "DependencyNotFound"
    NO_CANDIDATE = "NoCandidate"
    INVALID_ACTION = "InvalidAction"
    """The `modelrollout.io/action` annotation did not parse; it was removed unapplied."""
    INVALID_SPEC = "InvalidSpec"
    """The stored spec does not parse (written before a validation rule existed)."""
    APPLY_FAILED = "ApplyFailed"
    """The apiserver refused a change the operator made (quota, admission, conflict)."""
