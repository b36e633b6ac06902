"""`modelrollout-operator` (and `python -m modelrollout`): parse settings, hand them to kopf."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..api.v1alpha1 import NotificationFormat
from ..k8s import KubeError, label_selector
from ..metrics import PrometheusPolicy
from .memory import configure_allocator
from .notify_sender import NotificationSettings, Receiver
from .settings import LeaderElectionSettings, OperatorSettings, ReconcileSettings

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def parse_settings(argv: list[str] | None = None) -> OperatorSettings:
    parser = argparse.ArgumentParser(prog="modelrollout-operator", description=__doc__)
    parser.add_argument(
        "-n", "--namespace", action="append", default=[], help="namespace to watch (repeatable)"
    )
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    parser.add_argument(
        "-l",
        "--selector",
        help="serve only the ModelRollouts with these labels (kubectl's -l syntax), one shard of many",
    )
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=OperatorSettings().metrics_port,
        help="serve the operator's /metrics here (0: not at all)",
    )
    parser.add_argument("--health-port", type=int, default=0, help="serve /healthz here")
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=ReconcileSettings().resync_seconds,
        help="longest wait between two reconciles of a rollout when nothing changes (a safety net)",
    )
    parser.add_argument(
        "--kube-request-timeout",
        type=float,
        default=30.0,
        help="seconds one Kubernetes API call may wait for the apiserver",
    )
    election = LeaderElectionSettings()
    parser.add_argument(
        "--leader-elect", action="store_true", help="act only while holding the leader Lease (replicas > 1)"
    )
    parser.add_argument(
        "--leader-election-namespace",
        help="namespace of the Lease (default: the operator's own, else the first --namespace)",
    )
    parser.add_argument("--leader-election-id", default=election.lease_name, help="name of the Lease")
    parser.add_argument("--leader-election-identity", help="this replica in the Lease (default: host-pid)")
    parser.add_argument("--leader-elect-lease-duration", type=float, default=election.lease_duration_seconds)
    parser.add_argument("--leader-elect-renew-deadline", type=float, default=election.renew_deadline_seconds)
    parser.add_argument("--leader-elect-retry-period", type=float, default=election.retry_period_seconds)
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
    parser.add_argument(
        "--default-notification",
        action="append",
        default=[],
        metavar="FORMAT:NAMESPACE/SECRET/KEY",
        help="notify rollouts without spec.notifications to the URL in this Secret key, in FORMAT "
        "(webhook, slack, teams); repeatable",
    )
    parser.add_argument(
        "--notification-allowed-url",
        action="append",
        default=[],
        metavar="PREFIX",
        help="send notifications only to URLs under PREFIX (repeatable); Secrets then need no label",
    )
    notify = NotificationSettings()
    parser.add_argument(
        "--notification-attempts",
        type=int,
        default=notify.attempts,
        help="tries per receiver before giving up",
    )
    parser.add_argument(
        "--notification-backoff-seconds",
        type=float,
        default=notify.backoff_seconds,
        help="wait before a notification's second try, doubled before each next one",
    )
    args = parser.parse_args(argv)
    if not args.namespace and not args.all_namespaces:
        parser.error("give --namespace NAME (repeatable) or --all-namespaces")
    if args.selector is not None:
        try:
            label_selector(args.selector)
        except KubeError as error:
            parser.error(f"--selector: {error.message}")
    if args.leader_elect:
        election = LeaderElectionSettings(
            enabled=True,
            namespace=args.leader_election_namespace or _own_namespace() or next(iter(args.namespace), None),
            lease_name=args.leader_election_id,
            identity=args.leader_election_identity,
            lease_duration_seconds=args.leader_elect_lease_duration,
            renew_deadline_seconds=args.leader_elect_renew_deadline,
            retry_period_seconds=args.leader_elect_retry_period,
        )
        if election.namespace is None:
            parser.error("--leader-elect with --all-namespaces needs --leader-election-namespace")
        if (
            not 0
            < election.retry_period_seconds
            < election.renew_deadline_seconds
            < election.lease_duration_seconds
        ):
            parser.error("leader election needs 0 < retry period < renew deadline < lease duration")
    settings = OperatorSettings(
        namespaces=list(args.namespace),
        selector=args.selector,
        kubeconfig=args.kubeconfig,
        kube_request_timeout_seconds=args.kube_request_timeout,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
    )
    settings.reconcile.resync_seconds = args.resync_seconds
    settings.leader_election = election
    settings.analysis.prometheus = PrometheusPolicy(
        allow_insecure=args.allow_insecure_prometheus,
        allowed_url_prefixes=tuple(args.prometheus_allowed_url),
    )
    if args.notification_attempts < 1 or args.notification_backoff_seconds < 0:
        parser.error(
            "--notification-attempts must be at least 1 and --notification-backoff-seconds not negative"
        )
    settings.notifications = NotificationSettings(
        attempts=args.notification_attempts,
        backoff_seconds=args.notification_backoff_seconds,
        allowed_url_prefixes=tuple(args.notification_allowed_url),
        defaults=tuple(_default_receiver(parser, text) for text in args.default_notification),
    )
    return settings


def _default_receiver(parser: argparse.ArgumentParser, text: str) -> Receiver:
    form, _, where = text.partition(":")
    parts = where.split("/")
    formats = ", ".join(f.value for f in NotificationFormat)
    if form not in {f.value for f in NotificationFormat} or len(parts) != 3 or not all(parts):
        parser.error(
            f"--default-notification {text!r}: give FORMAT:NAMESPACE/SECRET/KEY, FORMAT one of {formats}"
        )
    namespace, secret, key = parts
    return Receiver(f"default-{form}-{secret}", NotificationFormat(form), namespace, secret, key)


def _own_namespace() -> str | None:
    """The namespace the operator runs in: POD_NAMESPACE (the downward API), else the one its
    in-cluster ServiceAccount token belongs to; None when run outside a cluster."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE) as file:
            return file.read().strip() or None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    configure_allocator(settings.memory)  # before the first thread
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.kubeconfig:
        os.environ["KUBECONFIG"] = settings.kubeconfig  # kopf's own login reads it
    from .startup import run

    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
