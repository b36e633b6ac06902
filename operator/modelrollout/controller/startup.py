"""Start the watch caches, then kopf with our runtime in its memo."""

from __future__ import annotations

import logging
import os
import threading

import kopf
from prometheus_client import start_http_server

from ..k8s import CachedKubeClient, KubeClient, kubeconfig_client
from . import handlers
from .analysis_batcher import AnalysisBatcher
from .follower_health import FollowerHealth
from .leader import LeaderElector, default_identity
from .memory import Trimmer
from .notify_sender import Notifier
from .reconcile import Reconciler
from .settings import OperatorSettings
from .wakeups import Wakeups

log = logging.getLogger("modelrollout.startup")


def run(settings: OperatorSettings) -> int:
    api = kubeconfig_client(settings.kubeconfig, settings.kube_request_timeout_seconds)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="0.0.0.0")
    elector = None
    if settings.leader_election.enabled:
        # Probes call /healthz from the start; kopf serves it only once this replica leads.
        waiting = FollowerHealth(settings.health_port).start() if settings.health_port else None
        try:
            elector = lead(api, settings)
        finally:
            if waiting is not None:
                waiting.stop()
    # After the election: a follower watches nothing. Reads through `client` come from the
    # caches once they have listed, from the apiserver until then.
    client = CachedKubeClient(api, api, settings.namespaces)
    wakeups = Wakeups(client)
    client.start()
    if not client.wait_synced(settings.reconcile.informer_sync_seconds):
        log.warning("watch caches not synced yet: reconciles read from the apiserver until they are")
    notifier = Notifier(client, settings.notifications).start()  # its own threads
    trimmer = Trimmer(settings.memory.trim_seconds).start()
    runtime = handlers.Runtime(
        settings=settings,
        client=client,
        reconciler=Reconciler(client, event_settings=settings.events, notifier=notifier),
        batcher=AnalysisBatcher(
            client, batch_window=settings.analysis.batch_window_seconds, policy=settings.analysis.prometheus
        ),
        wakeups=wakeups,
    )
    try:
        kopf.run(
            standalone=True,
            namespaces=settings.namespaces,
            clusterwide=not settings.namespaces,
            memo=kopf.Memo(runtime=runtime),
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz"
            if settings.health_port
            else None,
        )
    finally:
        trimmer.stop()
        notifier.stop()
        client.stop()
    if elector is not None:  # kopf stopped gracefully: nothing acts any more
        elector.release()
    return 0


def lead(client: KubeClient, settings: OperatorSettings) -> LeaderElector:
    """Before kopf starts (so a follower watches, writes and finalizes nothing): wait for the
    Lease, then keep renewing it on a thread. Leadership lost means this process may already be
    out of date: it exits at once, non-zero, like controller-runtime, and its Deployment starts
    it again as a follower. No graceful stop, which would let daemons act for seconds more."""
    election = settings.leader_election
    assert election.namespace is not None
    elector = LeaderElector(client, election, election.identity or default_identity(), election.namespace)
    elector.acquire()

    def hold() -> None:
        reason = elector.renew_until_lost()
        if elector.released:
            return
        log.critical("%s stops acting: %s", elector.identity, reason)
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=hold, name="leader-lease", daemon=True).start()
    return elector
