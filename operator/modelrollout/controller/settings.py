"""Operator settings: one tree of dataclasses, each field documented; handlers receive it, never
read globals or the environment themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..metrics import PrometheusPolicy
from .event_series import EventSeriesSettings
from .memory import MemorySettings
from .notify_sender import NotificationSettings


@dataclass
class ReconcileSettings:
    workers: int = 16
    """Threads the reconciles (and their Kubernetes calls) run on: at an analysis boundary every
    due rollout writes its status at once, and the interpreter's default pool (cores + 4) would
    queue them behind each other's round trips."""
    resync_seconds: float = 300.0
    """Longest wait between two reconciles of one rollout when nothing changes: a safety net only,
    since a change to its objects wakes it (watch caches) and its timers and analysis clock set
    the delay it waits otherwise."""
    poll_seconds: float = 0.5
    """While an analysis is evaluated, how often the daemon checks its watched object for a manual
    action that should end the wait."""
    informer_sync_seconds: float = 30.0
    """How long startup waits for the watch caches' first LIST before kopf starts anyway (reads
    go to the apiserver until a cache is synced)."""
    min_delay_seconds: float = 0.5
    """Shortest wait between two reconciles, so a flapping object cannot spin the operator."""


@dataclass
class AnalysisSettings:
    batch_window_seconds: float = 0.2
    """Analysis requests arriving within this window share one round of Prometheus queries."""
    prometheus: PrometheusPolicy = field(default_factory=PrometheusPolicy)
    """Which Prometheus addresses a spec may name and how they are called
    (`--allow-insecure-prometheus`, `--prometheus-allowed-url`)."""


@dataclass
class FinalizerSettings:
    stable_ready_timeout_seconds: float = 120.0
    """How long deletion waits for the stable version to be Available at full size before it
    removes the candidate anyway (the stable's Deployment is kept either way)."""


@dataclass
class LeaderElectionSettings:
    """Timings as client-go's (and controller-runtime's) defaults; renew deadline < lease
    duration, so a leader that cannot renew stops before any other replica may take over."""

    enabled: bool = False
    """Elect a leader among replicas with a Lease; off: this process acts alone, at once."""
    namespace: str | None = None
    """Namespace of the Lease; None: the operator's own (POD_NAMESPACE or the ServiceAccount's),
    else the first watched namespace."""
    lease_name: str = "modelrollout-operator"
    """Name of the Lease; replicas that should exclude each other share it."""
    identity: str | None = None
    """This replica's name in the Lease; None: hostname and pid."""
    lease_duration_seconds: float = 15.0
    """How long a Lease nobody renews keeps its holder: a follower waits this long after the
    last renewal before it takes over (rounded up to whole seconds in the Lease)."""
    renew_deadline_seconds: float = 10.0
    """A leader that has not renewed for this long stops acting (the process exits non-zero and
    its Deployment restarts it as a follower)."""
    retry_period_seconds: float = 2.0
    """How often the leader renews and a follower tries to take the Lease."""


@dataclass
class OperatorSettings:
    namespaces: list[str] = field(default_factory=list)
    """Namespaces to watch; empty means all (cluster-wide RBAC needed)."""
    selector: str | None = None
    """A label selector (kubectl's `-l` syntax): serve only the ModelRollouts it selects, so
    several operators, each with its own selector and Lease, share a namespace. None: every
    ModelRollout. The watch caches still hold every ModelRollout, since a model's claims and
    `dependsOn` reach across shards."""
    kubeconfig: str | None = None
    """A kubeconfig file; None: $KUBECONFIG, then the in-cluster ServiceAccount."""
    kube_request_timeout_seconds: float = 30.0
    """How long one call of the operator's Kubernetes client waits for the apiserver (urllib3
    retries a read that timed out up to three times): past it the reconcile fails and is retried
    with backoff, so a hung apiserver connection never holds a rollout's daemon for good."""
    metrics_port: int = 8080
    """Port of the operator's own /metrics, on every address (0: not served). On by default:
    the chart's Service and ServiceMonitor scrape it, and the alerts need it."""
    health_port: int = 0
    """Port of kopf's liveness endpoint /healthz (0: not served)."""
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    finalizer: FinalizerSettings = field(default_factory=FinalizerSettings)
    leader_election: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    events: EventSeriesSettings = field(default_factory=EventSeriesSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
