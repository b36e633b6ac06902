"""Every enum of the API, documented once: phases, verdicts, condition types and reasons.

They are `StrEnum`s so they serialise as the plain strings the CRD and `kubectl` show.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a ModelRollout is in its life; `status.phase`."""

    PENDING = "Pending"
    """No rollout is under way yet: the stable is still coming up, an upstream model is
    mid-rollout, or a problem only a person can fix stands (a missing Service, an invalid
    template, a dependency cycle or a missing dependency), named by the Degraded condition."""
    PROGRESSING = "Progressing"
    """The candidate is running and its steps are being executed."""
    PAUSED = "Paused"
    """Steps are on hold: a pause step without duration, `spec.paused`, a manual pause, an
    inconclusive analysis with `onInconclusive: pause`, or a cascade from an upstream failure."""
    PROMOTING = "Promoting"
    """All steps passed: the candidate is being scaled to full size and made the stable."""
    PROMOTED = "Promoted"
    """The steady state: the stable serves all traffic and no candidate is under way, either
    because a rollout ended in a promotion or because none was asked for (the Progressing
    condition says which: Promoted or NoCandidate)."""
    ROLLING_BACK = "RollingBack"
    """A failure or an abort: traffic is being returned to the stable version."""
    ROLLED_BACK = "RolledBack"
    """The candidate is at zero weight and zero replicas; final until `retry` or a new candidate."""
    FAILED = "Failed"
    """The stored spec does not parse (it was written before a validation rule existed) and
    nothing was ever rolled out from it (Degraded: InvalidSpec); traffic untouched. A problem in
    a valid spec or the cluster (a missing Service, an invalid template, a dependency cycle) is
    not a failure: it waits in Pending, or holds a running rollout, until a person fixes it."""


class Verdict(StrEnum):
    """The outcome of one analysis: `status.analysis.verdict` and per metric."""

    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    """Not enough evidence either way: too few samples, no data, or Prometheus unreachable."""


class StrategyType(StrEnum):
    """Rollout strategies that work today (the list grows with the code, never before it)."""

    CANARY = "Canary"
    BLUE_GREEN = "BlueGreen"
    """The candidate at full size behind a preview Service, then one switch (`strategy.blueGreen`)."""
    AB_TEST = "ABTest"
    """A fixed split for a set duration or until the sequential test decides; the candidate wins
    (is promoted) when its goal metric is shown superior and every guardrail non-inferior."""
    INTERLEAVED = "Interleaved"
    """The model router merges both versions' rankings (team draft) and credits clicks; the
    candidate is promoted when users are shown to prefer its ranking (`strategy.interleaved`)."""
    SHADOW = "Shadow"
    """The candidate gets a copy of users' requests and never answers them; its predictions,
    latency and errors are compared with the stable's (`strategy.shadow`, provider router)."""
    BANDIT = "Bandit"
    """Thompson sampling on the router's reward feedback sets the weights every interval, until one
    version is best with the stop probability (`strategy.bandit`; provider `router` only)."""


class TrafficProvider(StrEnum):
    """How weights become traffic (`spec.strategy.traffic.provider`)."""

    REPLICAS = "replicas"
    """The ratio of ready replicas behind one Service: coarse, needs nothing else."""
    GATEWAY_API = "gatewayAPI"
    """The weights of an HTTPRoute's backendRefs (Gateway API), exact to 0.1%."""
    ISTIO = "istio"
    """The weights of a VirtualService's routes over DestinationRule subsets, exact to 1%."""
    ROUTER = "router"
    """The weights of the model router's ConfigMap `<rollout>-router` (`modelrollout.router`),
    exact; one headless Service per version gives the router the versions' pod IPs."""


class AnalysisMethod(StrEnum):
    SEQUENTIAL = "sequential"
    """Anytime-valid tests: valid however often the operator looks (default)."""
    FIXED = "fixed"
    """Classical fixed-horizon tests, decided once at the end of the analysis window."""


class EvidenceSpan(StrEnum):
    """Where the evidence an analysis step judges begins."""

    CARRY = "carry"
    """At the rollout's first analysis step: evidence that the candidate is worse carries across
    steps (default); a Pass still needs the step's own evidence."""
    RESTART_PER_STEP = "restartPerStep"
    """At each analysis step's start: every step judges only what it saw."""


class MetricType(StrEnum):
    LATENCY = "latency"
    ERROR_RATE = "errorRate"
    DRIFT = "drift"
    CUSTOM = "custom"
    RESOURCE = "resource"
    ERROR_PATTERN = "errorPattern"
    GOAL = "goal"
    """An A/B test's goal: a rate or a mean where higher is better (`goal`), tested for
    superiority, not non-inferiority."""


class GoalKind(StrEnum):
    """What a `goal` metric measures (`spec.analysis.metrics[].goal.kind`)."""

    RATE = "rate"
    """Events per request, from two counters: `metricName` (e.g. conversions) over the request
    counter. A share of requests: each request counts at most one event."""
    MEAN = "mean"
    """`<metricName>_sum / <metricName>_count`, e.g. order value per order."""


class FixedTest(StrEnum):
    """The classical test of a metric when `analysis.method` is `fixed`, decided once at
    maxDuration. Each fits some metric types only (`spec.analysis.metrics[].fixedTest`)."""

    WELCH = "welch"
    """Latency (the default): Welch's t-test on the binned mean of log latency (of latency, for
    an absolute margin), against the margin moved onto that binned scale. Fail when the candidate
    is shown worse than the margin, Pass when shown within it."""
    MANN_WHITNEY = "mannWhitney"
    """Latency: Mann-Whitney's relative effect, the chance that a candidate request lands in a
    slower bucket than a stable one (ties count half), against the chance a stable slowed by
    exactly the margin would reach; Brunner-Munzel's variance. Fail and Pass as for `welch`. Sees
    the whole distribution's order, not its mean, so a few very slow requests weigh less."""
    TWO_PROPORTION_Z = "twoProportionZ"
    """Error rates (the default): two one-sided z-tests at the margin. Fail when the candidate's
    rate is shown worse than the margin, Pass when shown within it."""
    CHI_SQUARE = "chiSquare"
    """Error rates: Pearson's chi-square test of homogeneity on the 2x2 table of events and
    non-events per version. It is two-sided and knows no margin, so the margin gates the
    observed effect: Fail when the rates differ significantly and the candidate is worse than the
    margin, Inconclusive when it looks worse than the margin but not significantly, Pass when the
    observed effect is within the margin. Such a Pass means no relevant worsening was seen, not
    that one was ruled out: prefer `twoProportionZ` for that."""
    G_TEST = "gTest"
    """Error rates: the likelihood-ratio (G) test of homogeneity on the same 2x2 table, decided
    as `chiSquare`; closer to its chi-square distribution when a cell holds few events."""


class DriftStatistic(StrEnum):
    PSI = "psi"
    JENSEN_SHANNON = "jensenShannon"
    HELLINGER = "hellinger"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    CHI_SQUARE = "chiSquare"


class Outcome(StrEnum):
    """What became of a version: `status.lineage[].outcome` and `status.history[].outcome`.

    The status fields are plain strings so an old status with an unfamiliar value still loads;
    this enum is the vocabulary the operator writes.
    """

    STABLE = "Stable"
    """Served as the stable version without being rolled out by the operator: the first version
    seen, or one a person set as `spec.stable` by hand."""
    PROGRESSING = "Progressing"
    """The candidate of the rollout under way."""
    PROMOTED = "Promoted"
    """Passed its rollout and became the stable version. It keeps this outcome after a newer
    version replaces it, so it stays a target for undo."""
    ROLLED_BACK = "RolledBack"
    """Taken out of traffic after a failed analysis (or an undo away from it)."""
    ABORTED = "Aborted"
    """Taken out of traffic by a person."""
    SUPERSEDED = "Superseded"
    """Taken out of traffic because a newer candidate replaced it mid-rollout."""


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
    """Ready=True: the stable version has available replicas."""
    STABLE_UNAVAILABLE = "StableUnavailable"
    HEALTHY = "Healthy"
    """Degraded=False: nothing needs a person (the stable may still be coming up: that is Ready's
    to say)."""
    ROLLOUT_STARTED = "RolloutStarted"
    """A new candidate's rollout began at step 1."""
    RESUMED = "Resumed"
    """A paused rollout goes on at its current step (a pause expired or was lifted)."""
    STEP_COMPLETED = "StepCompleted"
    WAITING_FOR_CANDIDATE = "WaitingForCandidate"
    """Capacity is moving: the growing version's new pods are not all Available yet."""
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    """Degraded=True: capacity did not reach the plan within `spec.progressDeadline` (the
    candidate is not Available at its planned size); `analysis.onFailure` applies."""
    PAUSED_BY_STEP = "PausedByStep"
    PAUSED_BY_USER = "PausedByUser"
    AWAITING_PROMOTION = "AwaitingPromotion"
    """BlueGreen with `autoPromotion: false`: the candidate is ready behind its preview Service and
    the switch waits for `kubectl modelrollout promote`."""
    SWITCHED = "Switched"
    """BlueGreen: the live traffic moved to the candidate at once; the old version stays at full
    size for `scaleDownDelay`."""
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
    UNDONE = "Undone"
    INTERLEAVING_DECIDED = "InterleavingDecided"
    """An interleaving experiment's test decided: users prefer the candidate's ranking, the
    stable's, or showed no preference by `maxDuration` (the message gives the wins)."""
    """A person undid a promotion: the version that served is RolledBack, an earlier good one serves."""
    SUPERSEDED = "Superseded"
    SERVICE_NOT_FOUND = "ServiceNotFound"
    INVALID_TEMPLATE = "InvalidTemplate"
    DEPENDENCY_CYCLE = "DependencyCycle"
    DEPENDENCY_NOT_FOUND = "DependencyNotFound"
    NO_CANDIDATE = "NoCandidate"
    INVALID_ACTION = "InvalidAction"
    """The `modelrollout.io/action` annotation did not parse; it was removed unapplied."""
    ACTION_IGNORED = "ActionIgnored"
    """A manual action parsed but was not applied: it does not fit the phase (`status.lastAction`
    says why), or its verb and nonce were applied before; it was removed."""
    INVALID_SPEC = "InvalidSpec"
    """The stored spec does not parse (written before a validation rule existed)."""
    METRIC_NOT_FOUND = "MetricNotFound"
    """Degraded=True: a metric's series does not exist (misnamed, or its labels differ); the
    metric can never pass until the spec is fixed, and the analysis step holds."""
    METRIC_SHAPE_INVALID = "MetricShapeInvalid"
    """Degraded=True: a metric's query returns the wrong shape (no `le` label where histogram
    buckets are needed, a ratio where counts are needed); as MetricNotFound, it never passes."""
    MODEL_CLAIMED = "ModelClaimed"
    """Degraded=True: an earlier ModelRollout of the namespace rolls out the same `spec.model`;
    this one creates and scales nothing until that one is gone."""
    PROMETHEUS_REFUSED = "PrometheusRefused"
    """Degraded=True: the operator will not query the spec's Prometheus as configured
    (credentials over plain http, `insecureSkipVerify` without the operator's flag, an address
    outside its allow-list, a link-local or metadata address, a Secret not labelled
    `modelrollout.io/prometheus-credentials: "true"`); nothing was sent, and the step holds."""
    TRAFFIC_API_NOT_FOUND = "TrafficAPINotFound"
    """Degraded=True: the traffic provider's resource kind (HTTPRoute, VirtualService,
    DestinationRule) is not served by the cluster (its CRDs are not installed). No rollout starts
    and a running one holds; routes are left as they are, so traffic stays where it was."""
    ROUTE_NOT_FOUND = "RouteNotFound"
    """Degraded=True: the route object the spec names (`traffic.gatewayAPI.httpRoute`,
    `traffic.istio.virtualService`) does not exist, or has no rule that sends traffic to
    `spec.service`. No rollout starts and a running one holds until it is there."""
    ROUTE_CONFLICT = "RouteConflict"
    """Degraded=True: an object the traffic provider must create exists and is not this
    ModelRollout's (a Service named `<rollout>-<version>`); it is never taken over, and the
    rollout holds until it is renamed."""
    WEIGHT_APPROXIMATED = "WeightApproximated"
    """Warning: the provider cannot serve a step's weight exactly (`replicas` serves the ratio of
    whole replicas); the message says what is really served (`status.effectiveWeights`)."""
    APPLY_FAILED = "ApplyFailed"
    """The apiserver refused a change the operator made (quota, admission, conflict)."""
    STATUS_WRITE_REJECTED = "StatusWriteRejected"
    """Degraded=True: the apiserver refused the status the operator decided (a 400, 413 or 422:
    a schema or size limit; or etcd's "request is too large"). Nothing was changed in the
    cluster for that decision; the operator retries after 30 s, and the condition clears with
    the next status written."""
    NOTIFICATION_REFUSED = "NotificationRefused"
    """Warning: a notification was not sent because the operator will not send it as configured
    (its Secret is not labelled `modelrollout.io/notification-credentials: "true"`, the URL is not
    https or lies outside `--notification-allowed-url`, a link-local or metadata address) or its
    Secret cannot be read. The rollout goes on unaffected."""
    NOTIFICATION_FAILED = "NotificationFailed"
    """Warning: a receiver did not accept a notification after every retry; it was given up.
    The rollout goes on unaffected."""
