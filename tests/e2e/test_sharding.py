"""Two operators sharing a namespace by label selector (`--selector shard=a`, `--selector
shard=b`, no leader election): each serves only the ModelRollouts its selector selects, holds
them with its own finalizer, reaches their verdicts and finalizes their deletion; a rollout
relabelled into the other shard is taken up by that shard's operator.

Who serves a rollout is read off its finalizers (each shard's own name), and confirmed by
killing operator b: its rollout then stands still while shard a's goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrollout.controller.shards import shard_finalizer
from modelrollout_dev import LocalCluster

from .env import Env
from .given import Given
from .kubectl import create_service
from .processes import OperatorProcess
from .specs import spec_for_model
from .when import When

pytestmark = [pytest.mark.cluster]

PAUSE_AT_HALF = [{"setWeight": 50}, {"pause": {}}]
SHARDS = {"a": "scorer-a", "b": "scorer-b"}
"""Shard -> the ModelRollout (and model) labelled into it."""


@pytest.fixture
def env(cluster: LocalCluster, namespace: str, operator_kubeconfig: Path, tmp_path: Path) -> Iterator[Env]:
    """Replaces the one-operator `env`: operator a (`env.operator`) and operator b (the one
    follower), each serving one shard."""
    a, b = (
        OperatorProcess(cluster, namespace, operator_kubeconfig, tmp_path / f"shard-{shard}.log",
                        args=("--selector", f"shard={shard}"))
        for shard in SHARDS
    )  # fmt: skip
    environment = Env(cluster=cluster, namespace=namespace, operator=a, followers=[b])
    try:
        a.start()
        b.start()
        yield environment
    finally:
        a.stop()
        b.stop()


def _paused_at_step(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Paused" and status.get("currentStep") == 1


def _finalizers(env: Env, name: str) -> list[str]:
    return list(env.rollout(name)["metadata"].get("finalizers") or [])


def test_each_shards_operator_serves_only_its_rollouts_and_takes_up_one_relabelled_into_it(
    given: Given,
) -> None:
    env = given.env
    for shard, name in SHARDS.items():
        create_service(env, name)
        given.apply(
            spec_for_model(env, name, steps=PAUSE_AT_HALF, replicas=2), name=name, labels={"shard": shard}
        )
    when: When = given.when()
    for name in SHARDS.values():
        when.wait_for_status_of(name, _paused_at_step, "paused at 50%", timeout=30)

    assert _finalizers(env, SHARDS["a"]) == [shard_finalizer("shard=a")]
    assert _finalizers(env, SHARDS["b"]) == [shard_finalizer("shard=b")]

    env.followers[0].kill()  # operator b, as a crash: nobody serves shard b any more
    for name in SHARDS.values():
        when.action_on(name, "resume")
    when.wait_for_phase("Promoted", name=SHARDS["a"], timeout=30).sleep(2)  # b's resync is 2 s

    unserved = env.rollout(SHARDS["b"])
    assert _paused_at_step(unserved["status"]), unserved["status"]
    assert unserved["metadata"]["annotations"]["modelrollout.io/action"].startswith("resume:"), "not read"

    when.label(SHARDS["b"], "shard", "a").wait_for_phase("Promoted", name=SHARDS["b"], timeout=30)

    # Operator a took it up, and took off the finalizer its dead operator b can no longer remove.
    assert _finalizers(env, SHARDS["b"]) == [shard_finalizer("shard=a")]

    when.delete_rollout_named(SHARDS["a"]).delete_rollout_named(SHARDS["b"])  # each finalized by a

    log = env.operator.log()
    assert all(f"{name} deleted: " in log for name in SHARDS.values()), log[-3000:]
