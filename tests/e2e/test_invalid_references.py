"""What the schema cannot know becomes a Degraded condition and an Event, with traffic untouched:
a missing Service, a candidate template the apiserver rejects, a missing or cyclic dependsOn.

Each test starts from a steady stable (v1 at 4 replicas, Promoted), brings the problem in with
a new candidate, and checks that no candidate Deployment appears and the stable keeps its size.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrollout_dev.manifests import pod_template

from .env import Env, conditions
from .given import Given
from .kubectl import create_service, delete_service
from .specs import base_spec, spec_for_model
from .when import When, wait_for_rollout

pytestmark = [pytest.mark.cluster]

STABLE, CANDIDATE = "fraud-scorer-v1", "fraud-scorer-v2"
STEPS = [{"setWeight": 25}, {"pause": {}}]
UPSTREAM = "feature-encoder"


def _candidate(template: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": "v2",
        "template": template or pod_template({"app": "fraud-scorer"}, image="registry.local/fraud-scorer:v2"),
    }


def _degraded(reason: str):  # type: ignore[no-untyped-def]
    def check(status: dict[str, Any]) -> bool:
        degraded = conditions(status).get("Degraded") or {}
        return degraded.get("status") == "True" and degraded.get("reason") == reason

    return check


def _paused_at_first_pause(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Paused" and status.get("currentStep") == 1


def _steady(given: Given) -> When:
    """v1 serving at full size, no candidate."""
    given.service()
    spec = base_spec(given.env, steps=STEPS, candidate=None)
    return given.rollout(spec).wait_for_phase("Promoted", timeout=60)


def _rollout_events(env: Env, name: str | None = None) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events on one ModelRollout."""
    return [
        (e["type"], e["reason"], e["message"])
        for e in env.events()
        if e["involvedObject"].get("kind") == "ModelRollout"
        and e["involvedObject"]["name"] == (name or env.name)
    ]


def _warned(env: Env, reason: str, name: str | None = None) -> None:
    events = _rollout_events(env, name)
    assert any(kind == "Warning" and why == reason for kind, why, _ in events), events


def test_a_missing_service_is_degraded_until_it_is_created(given: Given) -> None:
    when = _steady(given)
    delete_service(given.env, "fraud-scorer")

    when.patch_spec({"candidate": _candidate()})
    wait_for_rollout(given.env, _degraded("ServiceNotFound"), "Degraded ServiceNotFound", timeout=30)
    when.sleep(3)

    then = when.then()
    then.condition("Degraded", "True", "ServiceNotFound").stable_version("v1").candidate_weight(0)
    then.that(
        lambda s: "fraud-scorer" in conditions(s)["Degraded"]["message"], "the message names the Service"
    )
    then.that(lambda s: s.get("candidateVersion") is None, "the candidate did not start")
    _warned(given.env, "ServiceNotFound")
    assert given.env.replicas() == {STABLE: 4}, "no candidate Deployment, the stable at its size"

    create_service(given.env, "fraud-scorer")
    wait_for_rollout(given.env, _paused_at_first_pause, "the rollout to proceed")

    then = when.then()
    then.condition("Degraded", "False").candidate_weight(25).replicas({STABLE: 3, CANDIDATE: 1})


@pytest.mark.parametrize(
    "broken, problem",
    [
        ({"image": None}, "image"),
        ({"ports": [{"containerPort": 70000, "name": "http"}]}, "containerPort"),
    ],
    ids=["container-without-image", "invalid-port"],
)
def test_a_candidate_template_the_apiserver_rejects_is_degraded(
    given: Given, broken: dict[str, Any], problem: str
) -> None:
    when = _steady(given)
    template = pod_template({"app": "fraud-scorer"}, image="registry.local/fraud-scorer:v2")
    container = template["spec"]["containers"][0]
    container.update(broken)
    if container["image"] is None:
        del container["image"]

    when.patch_spec({"candidate": _candidate(template)})
    wait_for_rollout(given.env, _degraded("InvalidTemplate"), "Degraded InvalidTemplate", timeout=30)
    when.sleep(3)

    then = when.then()
    then.condition("Degraded", "True", "InvalidTemplate").stable_version("v1").candidate_weight(0)
    then.that(lambda s: problem in conditions(s)["Degraded"]["message"], f"the message names {problem}")
    then.that(lambda s: s.get("candidateVersion") is None, "the candidate did not start")
    _warned(given.env, "InvalidTemplate")
    assert given.env.replicas() == {STABLE: 4}, "no candidate Deployment, the stable at its size"

    when.patch_spec({"candidate": _candidate()})
    wait_for_rollout(given.env, _paused_at_first_pause, "a fixed template to roll out")
    when.then().condition("Degraded", "False").replicas({STABLE: 3, CANDIDATE: 1})


def test_a_dependency_on_a_missing_model_is_degraded(given: Given) -> None:
    when = _steady(given)

    when.patch_spec({"dependsOn": [{"model": UPSTREAM}], "candidate": _candidate()})
    wait_for_rollout(given.env, _degraded("DependencyNotFound"), "Degraded DependencyNotFound", timeout=30)
    when.sleep(3)

    then = when.then()
    then.condition("Degraded", "True", "DependencyNotFound").stable_version("v1").candidate_weight(0)
    then.that(lambda s: UPSTREAM in conditions(s)["Degraded"]["message"], "the message names the model")
    then.that(lambda s: s.get("candidateVersion") is None, "the candidate did not start")
    _warned(given.env, "DependencyNotFound")
    assert given.env.replicas() == {STABLE: 4}, "no candidate Deployment, the stable at its size"


def _patch_other(env: Env, name: str, spec_patch: dict[str, Any]) -> None:
    env.cluster.kubectl(
        "patch", "modelrollout", name, "-n", env.namespace, "--type=merge", "-p", json.dumps({"spec": spec_patch})
    )  # fmt: skip


def test_a_dependency_cycle_is_degraded_on_both_rollouts(given: Given) -> None:
    env = given.env
    given.service()
    create_service(env, UPSTREAM)
    given.apply(base_spec(env, steps=STEPS, candidate=None))
    given.apply(spec_for_model(env, UPSTREAM, steps=STEPS, candidate=None), name=UPSTREAM)
    when = (
        given.when()
        .wait_for_phase("Promoted", timeout=60)
        .wait_for_phase("Promoted", timeout=60, name=UPSTREAM)
    )

    # The cycle closes before either has a candidate, so neither can slip into a rollout first.
    when.patch_spec({"dependsOn": [{"model": UPSTREAM}]})
    _patch_other(env, UPSTREAM, {"dependsOn": [{"model": "fraud-scorer"}]})
    when.patch_spec({"candidate": _candidate()})
    _patch_other(env, UPSTREAM, {"candidate": spec_for_model(env, UPSTREAM, steps=STEPS)["candidate"]})
    cycle = _degraded("DependencyCycle")
    for name in ("fraud-scorer", UPSTREAM):
        wait_for_rollout(env, cycle, f"Degraded DependencyCycle on {name}", timeout=30, name=name)
    when.sleep(3)

    for name in ("fraud-scorer", UPSTREAM):
        status = env.status(name)
        degraded = conditions(status)["Degraded"]
        assert degraded["status"] == "True" and degraded["reason"] == "DependencyCycle", status
        assert "fraud-scorer" in degraded["message"] and UPSTREAM in degraded["message"], degraded
        assert status.get("candidateVersion") is None and status.get("candidateWeight") == 0, status
        _warned(env, "DependencyCycle", name)
    assert env.replicas() == {STABLE: 4, f"{UPSTREAM}-v1": 4}, (
        "no candidate Deployments, stables at their size"
    )
