"""The router process's settings (its command line), one documented field each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RouterSettings:
    namespace: str
    """Where the ConfigMap and the versions' Services live (the `namespace` label of the series)."""
    config_map: str
    """The ConfigMap holding `router.json` (`<rollout>-router`)."""
    host: str = "0.0.0.0"
    port: int = 8080
    metrics_host: str | None = None
    """A separate listener for `/metrics` (e.g. kept off the user-facing port); None serves
    `/metrics` on the main listener."""
    metrics_port: int | None = None
    config_file: Path | None = None
    """Read `router.json` from this file (polled) instead of the ConfigMap: no Kubernetes."""
    endpoints: tuple[str, ...] = ()
    """With `config_file`: `SERVICE=HOST:PORT[,HOST:PORT...]`, the pods of each Service."""
    kubeconfig: str | None = None
    """None: $KUBECONFIG or ~/.kube/config if present, else the in-cluster ServiceAccount."""
    max_in_flight: int = 512
    """User requests being forwarded at once; more wait in the queue."""
    max_queued: int = 1024
    """Requests waiting for a free slot at most; one more is answered 503 with Retry-After at once,
    so an overloaded router sheds load instead of growing its memory and everyone's latency."""
    queue_timeout_seconds: float = 5.0
    """How long a queued request waits for a slot before it is answered 503."""
    retry_after_seconds: int = 1
    """The `Retry-After` of a 503 for overload."""
    shutdown_grace_seconds: float = 20.0
    """On SIGTERM: how long requests in flight may take to finish (below the pod's
    terminationGracePeriodSeconds) before they are cancelled."""
    recent_requests_kept: int = 100_000
    """Request ids remembered (with the version that answered) for bandit rewards posted by id."""
    impressions_kept: int = 100_000
    """Interleaved impressions remembered for click feedback; the oldest are forgotten first."""
    shadow_connections: int = 64
    """Connections the shadow copies may hold: a pool of their own, so copies never take the
    connections users' requests need."""
