"""Ownership on the real control plane.

Deleting a ModelRollout in the two ways the finalizer cannot stop: the stable keeps serving.

`kubectl delete --cascade=foreground` has garbage collection delete the dependents together
with the ModelRollout, whatever the finalizer is doing; a finalizer removed by hand while the
operator is down leaves garbage collection alone with the Deployments. Neither may take the
stable: it carries no ownerReference (kube-controller-manager runs the garbage collector here,
so a Deployment that had one would be gone). The operator is down while both deletions happen,
so garbage collection acts first for certain (a running operator may win that race, or not);
two rollouts mid-canary, one for each way.

Two ModelRollouts of one model: the later one is Degraded and creates nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from .env import conditions
from .given import Given
from .kubectl import create_service
from .specs import spec_for_model

pytestmark = [pytest.mark.cluster]

CASCADE, BYPASSED = "cascade", "bypassed"


def _paused_at_half(status: dict[str, object]) -> bool:
    return status.get("phase") == "Paused" and status.get("candidateWeight") == 50


def test_deleting_a_rollout_by_foreground_cascade_or_past_its_finalizer_keeps_the_stable(
    given: Given,
) -> None:
    for name in (CASCADE, BYPASSED):
        create_service(given.env, name)
        given.apply(spec_for_model(given.env, name, steps=[{"setWeight": 50}, {"pause": {}}]), name)
    when = given.when().wait_for_garbage_collector()
    for name in (CASCADE, BYPASSED):
        when.wait_for_status_of(name, _paused_at_half, "v2 paused at 50%", timeout=60)

    when.stop_operator()
    when.delete_rollout_in_foreground(CASCADE).wait_for_deployment_collected(f"{CASCADE}-v2")
    when.delete_rollout_past_its_finalizer(BYPASSED).wait_for_deployment_collected(f"{BYPASSED}-v2")
    when.start_operator().wait_for_rollout_gone(CASCADE)

    then = when.then_rollouts_gone()
    then.deployment_available(f"{CASCADE}-v1", 4)  # its finalizer, back, gave it all the capacity
    then.deployment_available(f"{BYPASSED}-v1", 2)  # nobody did: it serves at the size it had


def test_a_second_rollout_of_a_model_is_degraded_and_creates_nothing(given: Given) -> None:
    first, copy = given.env.name, f"{given.env.name}-copy"
    given.service().apply(
        spec_for_model(given.env, given.env.model, steps=[{"setWeight": 50}, {"pause": {}}])
    )
    given.apply(spec_for_model(given.env, given.env.model, steps=[{"setWeight": 10}]), copy)

    when = given.when().wait_for_status_of(copy, _claimed, "Degraded: ModelClaimed", timeout=30)
    when.wait_for_phase("Paused", timeout=30)

    then = when.then_of(copy).condition("Degraded", "True", "ModelClaimed").event("ModelClaimed")
    then.that(
        lambda s: f"ModelRollout {first}," in conditions(s)["Degraded"]["message"], "the first is named"
    )
    then.deployments({f"{first}-v1", f"{first}-v2"})


def _claimed(status: dict[str, Any]) -> bool:
    degraded = conditions(status).get("Degraded")
    return degraded is not None and degraded["reason"] == "ModelClaimed"
