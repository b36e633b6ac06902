"""Every call of the real `ApiKubeClient` gives up on an apiserver that accepts the connection
and never answers, and says so as a `KubeError`: no reconcile (and no abort behind it) waits on
the apiserver without end. The server is a plain socket that never answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from modelrollout.k8s import ApiKubeClient, KubeClient, KubeError

from ...fixtures.black_hole import black_hole

TIMEOUT = 0.1
"""The client's request timeout here; urllib3 retries a read that timed out up to three times."""
BOUND = 4 * TIMEOUT + 1.0

LABELS = {"app": "a"}
DEPLOYMENT = {
    "metadata": {"name": "d", "namespace": "ns"},
    "spec": {
        "selector": {"matchLabels": LABELS},
        "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "m", "image": "m:1"}]}},
    },
}
ROLLOUT = {
    "metadata": {"name": "r", "namespace": "ns", "uid": "u"},
    "kind": "ModelRollout",
    "apiVersion": "v",
}
CALLS: dict[str, Callable[[KubeClient], Any]] = {
    "get_rollout": lambda c: c.get_rollout("ns", "r"),
    "list_rollouts": lambda c: c.list_rollouts("ns"),
    "patch_rollout_status": lambda c: c.patch_rollout_status("ns", "r", {"phase": "Pending"}),
    "patch_rollout": lambda c: c.patch_rollout("ns", "r", {"metadata": {"annotations": {"a": "b"}}}),
    "patch_rollout_json": lambda c: c.patch_rollout_json("ns", "r", [{"op": "remove", "path": "/x"}]),
    "list_deployments": lambda c: c.list_deployments("ns", "a=b"),
    "create_deployment": lambda c: c.create_deployment("ns", DEPLOYMENT, dry_run=True),
    "patch_deployment": lambda c: c.patch_deployment("ns", "d", {"spec": {"replicas": 1}}),
    "scale_deployment": lambda c: c.scale_deployment("ns", "d", 1),
    "delete_deployment": lambda c: c.delete_deployment("ns", "d"),
    "service_exists": lambda c: c.service_exists("ns", "s"),
    "read_secret": lambda c: c.read_secret("ns", "s"),
    "create_event": lambda c: c.create_event(ROLLOUT, "Normal", "Test", "a message"),
    "patch_event": lambda c: c.patch_event("ns", "e", {"count": 2}),
    "get_lease": lambda c: c.get_lease("ns", "l"),
    "create_lease": lambda c: c.create_lease("ns", {"metadata": {"name": "l"}}),
    "replace_lease": lambda c: c.replace_lease("ns", "l", {"metadata": {"name": "l"}}),
    "get_object": lambda c: c.get_object("gateway.networking.k8s.io/v1", "HTTPRoute", "ns", "r"),
    "create_object": lambda c: c.create_object(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns"}}
    ),
    "apply_object": lambda c: c.apply_object(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns"}}, "test"
    ),
    "delete_object": lambda c: c.delete_object("networking.istio.io/v1", "DestinationRule", "ns", "d"),
}


@pytest.fixture(scope="module")
def silent_client() -> Iterator[KubeClient]:
    with black_hole() as address:
        configuration = k8s.Configuration()
        configuration.host = address
        yield ApiKubeClient(k8s.ApiClient(configuration), request_timeout=TIMEOUT)


def test_every_call_of_the_protocol_is_listed() -> None:
    methods = {name for name in vars(KubeClient) if not name.startswith("_")}
    assert methods == set(CALLS)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_call_to_a_silent_apiserver_ends_in_a_kube_error_within_its_timeout(
    silent_client: KubeClient, method: str
) -> None:
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            CALLS[method](silent_client)
        except BaseException as error:  # the test reports whatever it was
            outcome.append(error)
        else:
            outcome.append(None)

    started = time.monotonic()
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=BOUND + 5)
    took = time.monotonic() - started

    assert outcome, f"{method} still waits after {took:.1f}s"
    assert isinstance(outcome[0], KubeError), repr(outcome[0])
    assert "did not answer" in str(outcome[0])
    assert took < BOUND
