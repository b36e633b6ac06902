"""Start kopf with our runtime in its memo."""

from __future__ import annotations

import kopf
from prometheus_client import start_http_server

from ..k8s import kubeconfig_client
from . import handlers
from .analysis_batcher import AnalysisBatcher
from .reconcile import Reconciler
from .settings import OperatorSettings


def run(settings: OperatorSettings) -> int:
    client = kubeconfig_client(settings.kubeconfig)
    runtime = handlers.Runtime(
        settings=settings,
        client=client,
        reconciler=Reconciler(client),
        batcher=AnalysisBatcher(
            client, batch_window=settings.analysis.batch_window_seconds, policy=settings.analysis.prometheus
        ),
    )
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="0.0.0.0")
    kopf.run(
        standalone=True,
        namespaces=settings.namespaces,
        clusterwide=not settings.namespaces,
        memo=kopf.Memo(runtime=runtime),
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz" if settings.health_port else None,
    )
    return 0
