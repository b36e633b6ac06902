"""When: what a test does to the rollout and its surroundings, and the waits for the state that
follows. Every wait is here, so Then only asserts on a state already reached."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from .env import Env, lease, promql
from .kubectl import annotate_action, autoscale_rollout, scale_rollout
from .processes import OperatorProcess, RolloutWatch
from .then import Then


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def wait_for_rollout(
    env: Env,
    predicate: Callable[[dict[str, Any]], Any],
    what: str,
    timeout: float = 60,
    name: str | None = None,
) -> None:
    """`When.wait_for_status` for any ModelRollout of the test; a timeout shows its status and the
    operator's log tail, as `wait_for_phase` does."""
    try:
        wait_for(lambda: predicate(env.status(name)), timeout, what)
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nstatus: {json.dumps(env.status(name), indent=1)[:3000]}\n"
            f"operator log tail:\n{env.operator.log()[-4000:]}"
        ) from None


class When:
    def __init__(self, env: Env) -> None:
        self.env = env

    # -- waits ----------------------------------------------------------------------------------
    def wait_for_phase(self, *phases: str, timeout: float = 90, name: str | None = None) -> When:
        def reached(status: dict[str, Any]) -> str | None:
            phase = status.get("phase")
            return phase if phase in phases else None

        wait_for_rollout(self.env, reached, f"phase in {phases}", timeout, name)
        return self

    def wait_for_status(
        self, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 90
    ) -> When:
        wait_for(lambda: predicate(self.env.status()), timeout, what)
        return self

    def wait_for_step(self, step: int, timeout: float = 60) -> When:
        return self.wait_for_status(lambda s: (s.get("currentStep") or 0) >= step, f"step {step}", timeout)

    def wait_for_status_of(
        self, name: str, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 90
    ) -> When:
        wait_for_rollout(self.env, predicate, f"{name}: {what}", timeout, name)
        return self

    def wait_for_replicas(self, expected: dict[str, int], timeout: float = 60) -> When:
        """The Deployments named in `expected` at those sizes, and the rollout's scale status
        (`status.replicas`) at their sum."""

        def reached() -> bool:
            actual = self.env.replicas()
            scaled = self.env.status().get("replicas") == sum(expected.values())
            return scaled and {name: actual.get(name) for name in expected} == expected

        wait_for(reached, timeout, f"Deployments at {expected}")
        return self

    def wait_for_log(self, operator: OperatorProcess, text: str, timeout: float = 15) -> When:
        wait_for(lambda: text in operator.log(), timeout, f"{text!r} in {operator.log_path.name}")
        return self

    def wait_for_series(self, query: str, timeout: float = 20) -> When:
        """Until the test's Prometheus answers `query` with a series (it scrapes every second)."""
        wait_for(lambda: promql(self.env, query), timeout, f"a series for {query}")
        return self

    def wait_for_event(self, reason: str, timeout: float = 30) -> When:
        """Until the rollout has an Event with `reason`."""
        wait_for(lambda: reason in self.env.event_reasons(), timeout, f"an Event {reason}")
        return self

    def wait_until(self, check: Callable[[], Any], what: str, timeout: float = 30) -> When:
        """Until `check()` holds (something outside the cluster the test watches)."""
        wait_for(check, timeout, what)
        return self

    def sleep(self, seconds: float) -> When:
        time.sleep(seconds)
        return self

    # -- changes to the rollouts ------------------------------------------------------------------
    def action(self, verb: str) -> When:
        return self.action_on(self.env.name, verb)

    def action_on(self, name: str, verb: str) -> When:
        nonce = uuid.uuid4().hex[:8]
        annotate_action(self.env, f"{verb}:{nonce}", name)
        return self

    def patch_spec(self, patch: dict[str, Any]) -> When:
        return self.patch_spec_of(self.env.name, patch)

    def patch_spec_of(self, name: str, patch: dict[str, Any]) -> When:
        self.env.cluster.kubectl(
            "patch", "modelrollout", name, "-n", self.env.namespace, "--type=merge",
            "-p", json.dumps({"spec": patch}),
        )  # fmt: skip
        return self

    def label(self, name: str, key: str, value: str) -> When:
        """`kubectl label --overwrite` on a ModelRollout (e.g. moving it to another shard)."""
        self.env.cluster.kubectl(
            "label", "modelrollout", name, "-n", self.env.namespace, f"{key}={value}", "--overwrite"
        )
        return self

    def scale(self, replicas: int) -> When:
        """`kubectl scale modelrollout`."""
        scale_rollout(self.env, replicas)
        return self

    def autoscale(self, min_replicas: int, max_replicas: int) -> When:
        """Create or change the HPA on the ModelRollout (see `kubectl.autoscale_rollout`)."""
        autoscale_rollout(self.env, min_replicas, max_replicas)
        return self

    def delete_rollout(self) -> When:
        self.env.cluster.kubectl("delete", "modelrollout", self.env.name, "-n", self.env.namespace, "--wait=true",
                                 "--timeout=60s")  # fmt: skip
        return self

    def delete_rollout_named(self, name: str) -> When:
        """`kubectl delete`, waited for: done once the operator serving it has finalized it."""
        self.env.cluster.kubectl("delete", "modelrollout", name, "-n", self.env.namespace, "--wait=true",
                                 "--timeout=30s")  # fmt: skip
        return self

    def delete_rollout_in_foreground(self, name: str) -> When:
        """`kubectl delete --cascade=foreground`, not waited for: garbage collection deletes every
        dependent (each Deployment with an ownerReference to it) while the ModelRollout waits
        for the operator's finalizer."""
        self.env.cluster.kubectl("delete", "modelrollout", name, "-n", self.env.namespace, "--cascade=foreground",
                                 "--wait=false")  # fmt: skip
        return self

    def wait_for_rollout_gone(self, name: str, timeout: float = 90) -> When:
        def gone() -> bool:
            found = self.env.cluster.kubectl(
                "get", "modelrollout", name, "-n", self.env.namespace, check=False
            )
            return found.returncode != 0 and "NotFound" in found.stderr

        wait_for(gone, timeout, f"ModelRollout {name} to be deleted")
        return self

    def delete_rollout_past_its_finalizer(self, name: str) -> When:
        """A person removing the finalizer by hand (as when the operator is down and a delete
        hangs), then deleting: the ModelRollout goes at once, and only garbage collection acts."""
        remove = json.dumps([{"op": "remove", "path": "/metadata/finalizers"}])
        namespace = self.env.namespace
        self.env.cluster.kubectl("patch", "modelrollout", name, "-n", namespace, "--type=json", "-p", remove)
        self.env.cluster.kubectl(
            "delete", "modelrollout", name, "-n", namespace, "--wait=true", "--timeout=30s"
        )
        return self

    def wait_for_garbage_collector(self, timeout: float = 90) -> When:
        """Until garbage collection follows ownerReferences to ModelRollouts: it learns a new CRD
        at its next resync (every 30 s in kube-controller-manager), so a session's first test
        could otherwise delete before it acts. A ConfigMap owned by a ModelRollout that does not
        exist is deleted once it does (at once in a session that installed the CRD long ago)."""
        owner = {"apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "name": "absent",
                 "uid": str(uuid.uuid4())}  # fmt: skip
        meta = {"name": "gc-probe", "namespace": self.env.namespace, "ownerReferences": [owner]}
        probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
        self.env.cluster.kubectl("apply", "-f", "-", input=json.dumps(probe))

        def collected() -> bool:
            found = self.env.cluster.kubectl(
                "get", "configmap", "gc-probe", "-n", self.env.namespace, check=False
            )
            return found.returncode != 0 and "NotFound" in found.stderr

        wait_for(collected, timeout, "garbage collection of a ModelRollout's dependent")
        return self

    def wait_for_deployment_collected(self, name: str, timeout: float = 150) -> When:
        """Until garbage collection has deleted the Deployment or begun to (a foreground delete
        keeps it, marked, until kwok has removed its pods, which takes a while on a busy machine).
        The bound is kube-controller-manager's, not the operator's (which is stopped here): its
        garbage collector holds its workers while it resyncs its monitors after a discovery
        change (CRDs other tests of the session install and remove), and once took over 60 s."""

        def collected() -> bool:
            deployment = self.env.deployments().get(name)
            return deployment is None or "deletionTimestamp" in deployment["metadata"]

        wait_for(collected, timeout, f"Deployment {name} to be deleted by garbage collection")
        return self

    # -- the operator and Prometheus going down and coming back ---------------------------------
    def kill_operator(self) -> When:
        self.env.operator.kill()
        return self

    def kill_operator_when(
        self, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 60
    ) -> When:
        """SIGKILL the operator the moment a status matching `predicate` is written: a watch sees
        the write within milliseconds, usually before the operator has applied the actions that
        follow it. The status left behind (nobody writes it any more) is kept as
        `env.extra["status_at_kill"]` for Then to check that the phase really was caught."""
        with RolloutWatch(self.env.cluster, self.env.namespace, self.env.name) as watch:
            watch.wait_until(predicate, timeout, what)
            self.env.operator.kill()
            self.env.extra["killed_at"] = time.time()
        self.env.extra["status_at_kill"] = self.env.status()
        return self

    def wait_for_lease_holder(self, identity: str, timeout: float = 20) -> When:
        """Until the leader election Lease names `identity` as its holder; the Lease as the
        former holder left it is kept as `env.extra["lease_before"]`."""
        self.env.extra["lease_before"] = lease(self.env)
        wait_for(lambda: lease(self.env).get("holderIdentity") == identity, timeout,
                 f"{identity} holding the Lease", interval=0.1)  # fmt: skip
        return self

    def stop_operator(self, operator: OperatorProcess | None = None) -> When:
        """SIGTERM, and wait for the process to end: a graceful stop (a rolling update); the
        operator is down, whatever happens next. Without `operator`, the test's own."""
        (operator or self.env.operator).stop()
        return self

    def start_operator(self) -> When:
        self.env.operator.start()
        return self

    def stop_prometheus(self) -> When:
        """An outage: Prometheus killed, its data kept for when it comes back on the same URL."""
        assert self.env.prometheus is not None
        self.env.prometheus.stop()
        return self

    def start_prometheus(self) -> When:
        assert self.env.prometheus is not None
        self.env.prometheus.start()
        return self

    def then(self) -> Then:
        return Then(self.env)

    def then_of(self, name: str) -> Then:
        """Then, on another ModelRollout of the test than `env.name`."""
        return Then(self.env, status=self.env.status(name))

    def then_rollouts_gone(self) -> Then:
        """Then, on a namespace whose ModelRollouts were deleted: no status to read."""
        return Then(self.env, status={})
