"""`modelrollout-operator` (and `python -m modelrollout`): parse settings, hand them to kopf."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..metrics import PrometheusPolicy
from .settings import OperatorSettings


def parse_settings(argv: list[str] | None = None) -> OperatorSettings:
    parser = argparse.ArgumentParser(prog="modelrollout-operator", description=__doc__)
    parser.add_argument(
        "-n", "--namespace", action="append", default=[], help="namespace to watch (repeatable)"
    )
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    parser.add_argument("--metrics-port", type=int, default=0, help="serve the operator's /metrics here")
    parser.add_argument("--health-port", type=int, default=0, help="serve /healthz here")
    parser.add_argument("--resync-seconds", type=float, default=10.0)
    parser.add_argument(
        "--allow-insecure-prometheus",
        action="store_true",
        help="let a spec set insecureSkipVerify (credentials then go over unverified TLS)",
    )
    parser.add_argument(
        "--prometheus-allowed-url",
        action="append",
        default=[],
        metavar="PREFIX",
        help="query only Prometheus addresses under PREFIX (repeatable); Secrets then need no label",
    )
    args = parser.parse_args(argv)
    if not args.namespace and not args.all_namespaces:
        parser.error("give --namespace NAME (repeatable) or --all-namespaces")
    settings = OperatorSettings(
        namespaces=list(args.namespace),
        kubeconfig=args.kubeconfig,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
    )
    settings.reconcile.resync_seconds = args.resync_seconds
    settings.analysis.prometheus = PrometheusPolicy(
        allow_insecure=args.allow_insecure_prometheus,
        allowed_url_prefixes=tuple(args.prometheus_allowed_url),
    )
    return settings


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.kubeconfig:
        os.environ["KUBECONFIG"] = settings.kubeconfig  # kopf's own login reads it
    from .startup import run

    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
