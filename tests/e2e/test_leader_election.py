"""Two operator replicas, one actor: the replicas elect a leader with a Lease, only the leader
reconciles, and when the leader is killed (SIGKILL) the other takes over within the lease
duration plus one retry period of the kill and finishes the rollout exactly once. A leader
stopped gracefully releases the Lease.

Short lease timings (3 s / 2 s / 0.5 s) keep it quick. The follower waits for the Lease before
kopf starts, so a follower that never logged "leads" watched, wrote and finalized nothing.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.tools import free_port

from .env import LEASE_NAME, LEASE_NAMESPACE, Env, lease
from .given import Given
from .processes import OperatorProcess
from .specs import base_spec
from .when import When, wait_for

pytestmark = [pytest.mark.cluster]

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5
LEADER, FOLLOWER = "replica-a", "replica-b"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}]


def _replica(
    cluster: LocalCluster, namespace: str, kubeconfig: Path, log_dir: Path, identity: str
) -> OperatorProcess:
    election = (
        "--health-port", str(free_port()),
        "--leader-elect", "--leader-election-namespace", LEASE_NAMESPACE, "--leader-election-id", LEASE_NAME,
        "--leader-election-identity", identity,
        "--leader-elect-lease-duration", str(LEASE_DURATION),
        "--leader-elect-renew-deadline", str(RENEW_DEADLINE),
        "--leader-elect-retry-period", str(RETRY_PERIOD),
    )  # fmt: skip
    return OperatorProcess(cluster, namespace, kubeconfig, log_dir / f"{identity}.log", args=election)


@pytest.fixture
def env(cluster: LocalCluster, namespace: str, operator_kubeconfig: Path, tmp_path: Path) -> Iterator[Env]:
    """Replaces the one-operator `env`: `replica-a` started and holding the Lease, then
    `replica-b` started beside it."""
    cluster.kubectl("delete", "lease", LEASE_NAME, "-n", LEASE_NAMESPACE, "--ignore-not-found")
    leader = _replica(cluster, namespace, operator_kubeconfig, tmp_path, LEADER)
    follower = _replica(cluster, namespace, operator_kubeconfig, tmp_path, FOLLOWER)
    environment = Env(cluster=cluster, namespace=namespace, operator=leader, followers=[follower])
    leader.start()
    try:
        wait_for(lambda: lease(environment).get("holderIdentity") == LEADER, 30, "replica-a leading")
        follower.start()
        yield environment
    finally:
        for replica in (leader, follower):
            replica.stop()


def _healthz(replica: OperatorProcess) -> int:
    port = replica.args[replica.args.index("--health-port") + 1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return int(response.status)


def _micro_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_only_the_leader_acts_and_the_follower_takes_over_a_killed_leader_once(given: Given) -> None:
    env = given.env
    follower = env.followers[0]
    given.service()
    spec = base_spec(env, steps=STEPS)

    when: When = given.rollout(spec).wait_for_status(
        lambda s: s.get("phase") == "Paused" and s.get("currentStep") == 1, "paused at 25%", timeout=30
    )
    when.wait_for_log(follower, f"{FOLLOWER} waits")
    assert _healthz(follower) == 200, "a waiting replica passes its probes (the chart's /healthz)"
    then = when.then()
    then.lease_holder(LEADER, transitions=0)
    assert " leads " not in follower.log(), "the follower never started acting"
    assert f"{LEADER} leads" in env.operator.log()

    when.kill_operator_when(lambda s: s.get("phase") == "Paused", "paused").wait_for_lease_holder(FOLLOWER)
    when.action("resume").wait_for_phase("Promoted", timeout=30)

    then = when.then()
    taken = lease(env)
    last_renewal = _micro_time(env.extra["lease_before"]["renewTime"])
    take_over = _micro_time(taken["acquireTime"]) - env.extra["killed_at"]
    assert env.extra["lease_before"]["holderIdentity"] == LEADER, env.extra["lease_before"]
    assert _micro_time(taken["acquireTime"]) - last_renewal >= LEASE_DURATION, "the lease was respected"
    assert take_over <= LEASE_DURATION + RETRY_PERIOD, f"taken over {take_over:.2f}s after the kill"
    then.lease_holder(FOLLOWER, transitions=1)
    assert _healthz(follower) == 200, "kopf took the port over once the replica leads"
    reasons = [reason for reason, _ in env.rollout_events()]
    assert reasons.count("Promoted") == 1 and reasons.count("RolloutStarted") == 1, reasons
    assert reasons.count("Resumed") == 1, reasons
    then.phase("Promoted").stable_version("v2").replicas({"fraud-scorer-v2": 4, "fraud-scorer-v1": 0})
    then.that(lambda s: [(h["candidate"], h["outcome"]) for h in s["history"]] == [("v2", "Promoted")],
              "one rollout in the history, promoted")  # fmt: skip

    when.stop_operator(follower)  # gracefully, as in a rolling update

    when.then().lease_holder(None, transitions=1)  # handed over at once, not left to expire
