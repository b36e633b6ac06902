"""A real HorizontalPodAutoscaler aimed at the ModelRollout's scale subresource, on the real
control plane: the kube-controller-manager's HPA controller sizes the rollout and the operator
splits the size between the versions by their weights (as it does for `kubectl scale`); an
aborted candidate stays at zero.

No metrics-server runs, so the HPA reads no CPU and only clamps `spec.replicas` into
[minReplicas, maxReplicas]: the test moves those bounds to make it scale.
"""

from __future__ import annotations

import pytest

from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

STABLE, CANDIDATE = "fraud-scorer-v1", "fraud-scorer-v2"


def test_an_hpa_on_the_rollout_is_split_by_the_weights_and_never_revives_an_aborted_candidate(
    given: Given,
) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}])
    when = given.rollout(spec).wait_for_status(
        lambda s: s.get("phase") == "Paused" and s.get("currentStep") == 1, "paused at 25%", timeout=60
    )

    when.scale(6).wait_for_replicas({STABLE: 5, CANDIDATE: 1}, timeout=20)
    assert when.then().phase("Paused").status["currentStep"] == 1, "kubectl scale resizes the same step"

    when.autoscale(min_replicas=8, max_replicas=10).wait_for_replicas({STABLE: 6, CANDIDATE: 2}, timeout=40)

    then = when.then()
    then.phase("Paused").candidate_weight(25).that(lambda s: s["currentStep"] == 1, "the same step")
    then.that(lambda s: s["replicas"] == 8, "status.replicas, for the scale subresource")
    then.that(lambda s: s["selector"] == "modelrollout.io/rollout=fraud-scorer", "every version's pods")
    assert given.env.rollout()["spec"]["replicas"] == 8, "the HPA scaled the ModelRollout to minReplicas"

    when.action("abort").wait_for_phase("RolledBack", timeout=30)
    when.autoscale(min_replicas=10, max_replicas=12).wait_for_replicas({STABLE: 10, CANDIDATE: 0}, timeout=40)

    then = when.then()
    then.phase("RolledBack").candidate_weight(0).replicas({STABLE: 10, CANDIDATE: 0})
    assert given.env.rollout()["spec"]["replicas"] == 10, "the HPA's new minReplicas"
