"""`undo` on the real control plane: after a promotion, back to the previous good version at
once, through the `modelrollout.io/action: undo[:<version>]:<nonce>` annotation the plugin writes."""

from __future__ import annotations

import pytest

from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster]

STABLE, CANDIDATE = "fraud-scorer-v1", "fraud-scorer-v2"


def test_undo_returns_to_the_previous_stable_kept_at_zero(given: Given) -> None:
    given.service()
    when = given.rollout(base_spec(given.env, steps=[{"setWeight": 50}])).wait_for_phase(
        "Promoted", timeout=60
    )
    when.wait_for_replicas({CANDIDATE: 4, STABLE: 0})

    when.action("undo:v0").wait_for_status(
        lambda s: (s.get("lastAction") or {}).get("verb") == "undo", "the refused undo recorded", timeout=20
    )
    then = when.then()
    then.phase("Promoted").stable_version("v2")
    then.that(lambda s: s["lastAction"]["result"].startswith("ignored: v0 is not kept"), "v0 was never kept")
    then.event("ActionIgnored")

    when.action("undo").wait_for_phase("RolledBack", timeout=60).wait_for_replicas({STABLE: 4, CANDIDATE: 0})

    then = when.then()
    then.phase("RolledBack").stable_version("v1")
    then.that(lambda s: s["candidateVersion"] == "v2" and s["weights"] == {"v1": 100, "v2": 0}, "v2 undone")
    then.condition("Progressing", "False", "Undone").condition("Degraded", "False")
    then.lineage_outcomes({"v1": "Stable", "v2": "RolledBack"})
    then.event("Undone")
    then.deployment_available(STABLE, 4)
