"""dependsOn on the real control plane: a rollout waits while a model it depends on is
mid-rollout, and an upstream failure cascades to the dependents whose criticality is above their
threshold (pause or rollback, as each one says), and to no other."""

from __future__ import annotations

from typing import Any

import pytest

from .env import Env, conditions
from .given import Given
from .kubectl import create_service
from .specs import spec_for_model

pytestmark = [pytest.mark.cluster]

UPSTREAM = "feature-encoder"
PAUSE_AT_HALF = [{"setWeight": 50}, {"pause": {}}]
"""Half the traffic on the candidate, then wait for `resume`: a rollout held mid-way."""

Status = dict[str, Any]


def _paused_at_step(status: Status) -> bool:
    return status.get("phase") == "Paused" and status.get("currentStep") == 1


def _progressing_reason(status: Status) -> str | None:
    found = conditions(status).get("Progressing")
    return found["reason"] if found else None


def _events(env: Env, name: str) -> list[str]:
    return [reason for reason, _ in env.rollout_events(name)]


def test_a_dependent_rollout_waits_for_its_upstream_and_starts_once_it_is_promoted(given: Given) -> None:
    env = given.env
    given.service()
    create_service(env, UPSTREAM)
    given.apply(spec_for_model(env, UPSTREAM, steps=PAUSE_AT_HALF, replicas=2), name=UPSTREAM)
    when = given.when().wait_for_status_of(UPSTREAM, _paused_at_step, "upstream paused mid-rollout")
    dependent = spec_for_model(
        env, env.model, steps=[{"setWeight": 50}, {"pause": {"duration": "1s"}}], replicas=2,
        dependsOn=[{"model": UPSTREAM, "criticality": 0.9}],
    )  # fmt: skip

    given.apply(dependent)
    when.wait_for_status(
        lambda s: _progressing_reason(s) == "WaitingForDependency", "waiting for the upstream", timeout=30
    ).sleep(4)  # a few reconciles (resync 2s) with the upstream still held

    waiting = env.status()
    assert waiting.get("phase") == "Pending", waiting
    assert waiting.get("candidateWeight") == 0 and not waiting.get("history"), waiting
    assert f"{env.name}-v2" not in env.deployments(), sorted(env.deployments())
    assert "WaitingForDependency" in _events(env, env.name)

    when.action_on(UPSTREAM, "resume").wait_for_phase("Promoted", name=UPSTREAM, timeout=30)
    when.wait_for_phase("Promoted", timeout=45)

    upstream = env.status(UPSTREAM)
    then = when.then().phase("Promoted").stable_version("v2")
    then.replicas({f"{env.name}-v2": 2, f"{env.name}-v1": 0})
    then.that(lambda s: [h["outcome"] for h in s["history"]] == ["Promoted"], "one rollout, promoted")
    then.that(
        lambda s: s["history"][0]["startedAt"] >= upstream["history"][-1]["finishedAt"],
        f"started after the upstream finished ({upstream['history']})",
    )


def test_an_upstream_failure_cascades_by_criticality(given: Given) -> None:
    env = given.env
    for model in (UPSTREAM, "ranker-pause", "ranker-rollback", "ranker-low"):
        create_service(env, model)
    given.apply(spec_for_model(env, UPSTREAM, steps=PAUSE_AT_HALF, candidate=None, replicas=2), name=UPSTREAM)
    when = given.when().wait_for_phase("Promoted", name=UPSTREAM, timeout=30)
    dependents = {
        "ranker-pause": {"criticality": 0.9, "onUpstreamFailure": "pause"},
        "ranker-rollback": {"criticality": 0.9, "onUpstreamFailure": "rollback"},
        "ranker-low": {"criticality": 0.3, "onUpstreamFailure": "rollback"},
    }
    for name, how in dependents.items():
        spec = spec_for_model(
            env, name, steps=PAUSE_AT_HALF, replicas=2, cascadeThreshold=0.5,
            dependsOn=[{"model": UPSTREAM, "criticality": how["criticality"]}],
            onUpstreamFailure=how["onUpstreamFailure"],
        )  # fmt: skip
        given.apply(spec, name=name)
    for name in dependents:
        when.wait_for_status_of(name, _paused_at_step, "paused mid-rollout", timeout=45)
    candidate = spec_for_model(env, UPSTREAM, steps=PAUSE_AT_HALF)["candidate"]
    when.patch_spec_of(UPSTREAM, {"candidate": candidate})
    when.wait_for_status_of(UPSTREAM, _paused_at_step, "upstream paused mid-rollout", timeout=30)
    for name in dependents:
        when.wait_for_status_of(
            name,
            lambda s: _progressing_reason(s) == "WaitingForDependency",
            "held by the upstream",
            timeout=20,
        )

    when.action_on(UPSTREAM, "abort").wait_for_phase("RolledBack", name=UPSTREAM, timeout=30)
    when.wait_for_status_of(
        "ranker-pause",
        lambda s: _progressing_reason(s) == "UpstreamFailed",
        "paused by the cascade",
        timeout=20,
    )
    when.wait_for_phase("RolledBack", name="ranker-rollback", timeout=30)
    when.wait_for_status_of(
        "ranker-low",
        lambda s: _progressing_reason(s) == "PausedByStep",
        "back at its own pause step",
        timeout=20,
    )

    paused = env.status("ranker-pause")
    assert paused["phase"] == "Paused" and paused["candidateWeight"] == 50, paused
    assert conditions(paused)["Degraded"]["reason"] == "UpstreamFailed", paused["conditions"]
    assert "feature-encoder (criticality 0.90)" in paused["message"], paused["message"]
    assert "UpstreamFailed" in _events(env, "ranker-pause")

    rolled_back = env.status("ranker-rollback")
    assert rolled_back["candidateWeight"] == 0, rolled_back
    assert [(h["outcome"], h["reason"]) for h in rolled_back["history"]] == [("RolledBack", "UpstreamFailed")]
    assert "UpstreamFailed" in conditions(rolled_back)["Degraded"]["message"], rolled_back["conditions"]
    assert "UpstreamFailed" in _events(env, "ranker-rollback")
    assert env.replicas()["ranker-rollback-v2"] == 0 and env.replicas()["ranker-rollback-v1"] == 2

    low = env.status("ranker-low")
    assert low["phase"] == "Paused" and low["candidateWeight"] == 50, low
    assert "UpstreamFailed" not in _events(env, "ranker-low")
    when.action_on("ranker-low", "resume").wait_for_phase("Promoted", name="ranker-low", timeout=30)
    assert env.status("ranker-low")["stableVersion"] == "v2"
