"""The candidate changes under a running rollout, or the rollout goes away: traffic always has a
serving stable behind the Service."""

from __future__ import annotations

import json

import pytest

from modelrollout_dev.manifests import pod_template

from .env import ready_endpoints_by_version, ready_replicas
from .given import Given
from .processes import Sampler
from .specs import base_spec
from .when import wait_for

pytestmark = [pytest.mark.cluster]

STABLE, V2, V3 = "fraud-scorer-v1", "fraud-scorer-v2", "fraud-scorer-v3"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]


def _paused_at(version: str, step: int, weight: int):  # type: ignore[no-untyped-def]
    return lambda s: (
        s.get("phase") == "Paused"
        and s.get("candidateVersion") == version
        and s.get("currentStep") == step
        and s.get("candidateWeight") == weight
    )


def test_a_new_candidate_mid_rollout_supersedes_the_running_one(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=STEPS)
    when = given.rollout(spec).wait_for_status(_paused_at("v2", 1, 25), "v2 paused at 25%", timeout=60)
    v3 = {
        "version": "v3",
        "template": pod_template({"app": "fraud-scorer"}, image="registry.local/fraud-scorer:v3"),
        "parameters": {"learningRate": 0.02},
    }

    with Sampler(lambda: ready_replicas(given.env)) as stable_ready:
        when.patch_spec({"candidate": v3}).wait_for_status(
            _paused_at("v3", 1, 25), "v3 paused at 25% after its first step", timeout=60
        )
        wait_for(lambda: V2 not in given.env.deployments(), 30, "v2's Deployment to be pruned")

    then = when.then()
    then.stable_version("v1").replicas({STABLE: 3, V3: 1})
    then.lineage_outcomes({"v1": "Stable", "v2": "Superseded", "v3": "Progressing"})
    then.that(
        lambda s: (
            [(h["candidate"], h["outcome"]) for h in s["history"]]
            == [("v2", "Superseded"), ("v3", "Progressing")]
        ),
        "v2 retired as Superseded, v3 running",
    )
    then.that(lambda s: "superseded by v3" in s["history"][0]["reason"], "the reason names v3")
    then.that(lambda s: s["weights"] == {"v1": 75, "v3": 25}, "v2 has no weight")
    then.event("Superseded")
    rollout_started = [
        e["message"] for e in given.env.events() if e["reason"] == "RolloutStarted" and "v3" in e["message"]
    ]
    assert rollout_started, "an Event says v3's rollout started"
    assert stable_ready.samples and not stable_ready.errors, stable_ready.errors
    assert all(sample.get(STABLE, 0) >= 3 for sample in stable_ready.samples), (
        f"the stable dropped below its 75% share while the candidate changed: {stable_ready.samples}"
    )

    when.action("promote-full").wait_for_phase("Promoted", timeout=60)
    when.then().stable_version("v3").replicas({V3: 4, STABLE: 0}).lineage_outcomes({"v3": "Promoted"})


def test_deleting_the_rollout_mid_way_keeps_the_stable_serving(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 50}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_paused_at("v2", 1, 50), "v2 paused at 50%", timeout=60)
    wait_for(
        lambda: ready_endpoints_by_version(given.env, "fraud-scorer") == {"v1": 2, "v2": 2},
        30,
        "the Service to have 2 endpoints of each version",
    )

    with Sampler(lambda: ready_endpoints_by_version(given.env, "fraud-scorer")) as endpoints:
        when.delete_rollout()
        wait_for(lambda: V2 not in given.env.deployments(), 30, "the candidate Deployment to go")
        wait_for(
            lambda: ready_endpoints_by_version(given.env, "fraud-scorer") == {"v1": 4},
            60,
            "the Service to have only the stable's 4 endpoints",
        )

    gone = given.env.cluster.kubectl(
        "get", "modelrollout", "fraud-scorer", "-n", given.env.namespace, check=False
    )
    assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stderr
    stable = given.env.deployments()[STABLE]
    assert not stable["metadata"].get("ownerReferences"), stable["metadata"]
    assert stable["spec"]["replicas"] == 4, stable["spec"]
    available = {c["type"]: c["status"] for c in stable["status"].get("conditions", [])}
    assert available.get("Available") == "True" and stable["status"].get("availableReplicas") == 4, (
        json.dumps(stable["status"])
    )
    assert endpoints.samples and not endpoints.errors, endpoints.errors
    assert all(sample.get("v1", 0) >= 2 for sample in endpoints.samples), (
        f"the stable lost endpoints during the deletion: {endpoints.samples}"
    )

    # Garbage collection has had its chance: the stable, freed of its owner, is still there.
    when.sleep(3)
    assert given.env.replicas() == {STABLE: 4}, given.env.replicas()
