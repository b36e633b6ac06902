"""Surge first on the real control plane: a candidate whose pods never become Ready (a
nodeSelector no node matches) never costs the stable a ready endpoint, and `progressDeadline`
ends the rollout."""

from __future__ import annotations

import time

import pytest

from modelrollout_dev.manifests import pod_template

from .env import ready_endpoints_by_version
from .given import Given
from .processes import Sampler
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

STABLE, CANDIDATE = "fraud-scorer-v1", "fraud-scorer-v2"
DEADLINE_SECONDS = 15


def test_a_candidate_that_never_becomes_ready_is_rolled_back_by_the_deadline(given: Given) -> None:
    env = given.env
    given.service()
    spec = base_spec(
        env, steps=[{"setWeight": 50}, {"pause": {}}], candidate=None, progressDeadline=f"{DEADLINE_SECONDS}s"
    )
    when = given.rollout(spec).wait_for_status(
        lambda s: s.get("phase") == "Promoted" and ready_endpoints_by_version(env, env.model) == {"v1": 4},
        "the stable serving at 4 ready endpoints",
        timeout=30,
    )
    unschedulable = pod_template({"app": env.model}, image=f"registry.local/{env.model}:v2")
    unschedulable["spec"]["nodeSelector"] = {"type": "kwok", "modelrollout.io/pool": "none-matches"}

    with Sampler(lambda: ready_endpoints_by_version(env, env.model)) as endpoints:
        patched_at = time.monotonic()
        when.patch_spec({"candidate": {"version": "v2", "template": unschedulable}})
        when.wait_for_phase("RolledBack", timeout=DEADLINE_SECONDS + 20)
        ended_after = time.monotonic() - patched_at

    then = when.then()
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.replicas({STABLE: 4, CANDIDATE: 0})
    then.condition("Degraded", "True", "ProgressDeadlineExceeded").event("ProgressDeadlineExceeded")
    then.that(lambda s: s["history"][-1]["reason"] == "ProgressDeadlineExceeded", "the reason in history")
    assert endpoints.samples and not endpoints.errors, endpoints.errors
    assert all(sample.get("v1", 0) >= 4 for sample in endpoints.samples), (
        f"the stable lost ready endpoints to a candidate that never became Ready: {endpoints.samples}"
    )
    assert all(sample.get("v2", 0) == 0 for sample in endpoints.samples), endpoints.samples
    assert ended_after <= DEADLINE_SECONDS + 10, f"ended {ended_after:.0f} s after the candidate appeared"
