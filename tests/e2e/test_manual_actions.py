"""Manual control on the real control plane: the `modelrollout.io/action: <verb>:<nonce>`
annotation (pause, resume, promote, promote-full, abort, retry) and the lasting `spec.paused`.

Steps are `setWeight` and `pause` wherever the analysis is not the point, so each test is quick.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from modelrollout_dev.model_traffic import Behaviour

from ..fixtures.black_hole import black_hole
from .given import Given
from .kubectl import annotate_action, scale_deployment
from .specs import base_spec
from .when import wait_for

pytestmark = [pytest.mark.cluster]

STABLE, CANDIDATE = "fraud-scorer-v1", "fraud-scorer-v2"


def _at(step: int, weight: int, phase: str = "Paused"):  # type: ignore[no-untyped-def]
    """A status predicate: the rollout sits at `step` with the candidate at `weight`."""
    return lambda s: (
        s.get("phase") == phase and s.get("currentStep") == step and s.get("candidateWeight") == weight
    )


@pytest.mark.prometheus
def test_a_paused_rollout_holds_its_step_and_weight_past_the_analysis_deadline(given: Given) -> None:
    # An analysis that cannot decide (too few samples for minSamples) and promotes at its
    # deadline: while paused the deadline passes and nothing may happen; resumed, it goes on.
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()}, rps=50)
    metrics = [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}]
    analysis = given.analysis(metrics, minSamples=100_000_000, maxDuration="10s", onInconclusive="promote")
    spec = base_spec(
        given.env, steps=[{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}], analysis=analysis
    )
    when = given.rollout(spec).wait_for_status(
        _at(1, 25, "Progressing"), "the analysis step running at 25%", timeout=60
    )

    when.action("pause").wait_for_phase("Paused", timeout=20).sleep(15)

    then = when.then()
    then.phase("Paused").candidate_weight(25)
    then.that(lambda s: s["currentStep"] == 1, "still at the analysis step, past its 10s maxDuration")
    then.that(lambda s: s["pausedReason"] == "PausedByUser", "paused by the user")
    then.that(
        lambda s: s["lastAction"]["verb"] == "pause" and s["lastAction"]["result"] == "paused", "recorded"
    )
    then.replicas({STABLE: 3, CANDIDATE: 1})

    when.action("resume").wait_for_phase("Promoted", timeout=60)

    then = when.then()
    then.phase("Promoted").stable_version("v2").replicas({CANDIDATE: 4, STABLE: 0})
    then.that(lambda s: s["lastAction"]["verb"] == "resume", "the resume was taken")
    then.event("Resumed")


def test_promote_completes_an_indefinite_pause_step(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_at(1, 25), "paused by the step at 25%", timeout=60)

    when.action("promote").wait_for_status(_at(3, 50), "the next pause step, at 50%", timeout=60)

    then = when.then()
    then.phase("Paused").candidate_weight(50).replicas({STABLE: 2, CANDIDATE: 2})
    then.that(lambda s: s["pausedReason"] == "PausedByStep", "the second pause step holds")
    then.that(lambda s: s["lastAction"]["result"] == "step 2 completed", "the pause step was skipped")
    then.event("StepCompleted")


@pytest.mark.namespaced_operator  # and proves the namespaced RBAC is all a rollout needs
def test_promote_full_goes_straight_to_promoted(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_at(1, 25), "paused by the step at 25%", timeout=60)

    when.action("promote-full").wait_for_phase("Promoted", timeout=60)

    then = when.then()
    then.phase("Promoted").stable_version("v2").that(lambda s: s["weights"] == {"v2": 100}, "all on v2")
    then.replicas({CANDIDATE: 4, STABLE: 0})
    then.lineage_outcomes({"v1": "Stable", "v2": "Promoted"})
    then.that(
        lambda s: (
            [(h["candidate"], h["outcome"], h["reason"]) for h in s["history"]]
            == [("v2", "Promoted", "PromotedManually")]
        ),
        "the history says a person promoted it",
    )
    then.event("PromotedManually")


def test_abort_rolls_back_and_keeps_the_candidate_at_zero_even_when_scaled_by_hand(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 50}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_at(1, 50), "paused by the step at 50%", timeout=60)

    when.action("abort").wait_for_phase("RolledBack", timeout=60)

    then = when.then()
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.condition("Progressing", "False", "Aborted")
    then.replicas({STABLE: 4, CANDIDATE: 0})
    then.lineage_outcomes({"v2": "Aborted"})
    then.that(lambda s: s["history"][-1]["outcome"] == "Aborted", "the history says aborted")
    then.event("Aborted")

    # As an HPA would: the candidate is scaled up behind the operator's back.
    scale_deployment(given.env, CANDIDATE, 3)
    wait_for(
        lambda: given.env.replicas()[CANDIDATE] == 0, 30, "the operator to scale the candidate back to 0"
    )
    when.sleep(4)  # and it stays there

    then = when.then()
    then.phase("RolledBack").candidate_weight(0).replicas({STABLE: 4, CANDIDATE: 0})


def test_retry_rolls_the_aborted_candidate_out_again_from_the_first_step(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_at(1, 25), "paused by the step at 25%", timeout=60)
    when.action("promote").wait_for_status(_at(3, 50), "paused at 50%", timeout=60)
    when.action("abort").wait_for_phase("RolledBack", timeout=60)

    # Back at step 2 (index 1) with 25%: only the first step could have set that weight again.
    when.action("retry").wait_for_status(_at(1, 25), "the retry paused at the first pause step", timeout=60)

    then = when.then()
    then.phase("Paused").stable_version("v1").candidate_weight(25).replicas({STABLE: 3, CANDIDATE: 1})
    then.that(lambda s: s["candidateVersion"] == "v2", "the same candidate")
    then.that(lambda s: s["lastAction"]["verb"] == "retry", "the retry was taken")

    when.action("promote-full").wait_for_phase("Promoted", timeout=60)

    then = when.then()
    then.phase("Promoted").stable_version("v2").replicas({CANDIDATE: 4, STABLE: 0})
    then.that(
        lambda s: (
            [(h["candidate"], h["outcome"]) for h in s["history"]] == [("v2", "Aborted"), ("v2", "Promoted")]
        ),
        "two rollouts of v2 in the history: aborted, then promoted",
    )
    then.lineage_outcomes({"v2": "Promoted"})


def test_spec_paused_holds_the_rollout_and_false_lets_it_continue(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {"duration": "5s"}}, {"setWeight": 50}])
    when = given.rollout(spec).wait_for_status(_at(1, 25), "the timed pause step at 25%", timeout=60)

    when.patch_spec({"paused": True}).wait_for_status(
        lambda s: "spec.paused" in s.get("message", ""), "the lasting pause", timeout=20
    ).sleep(8)  # past the step's 5s

    then = when.then()
    then.phase("Paused").candidate_weight(25).replicas({STABLE: 3, CANDIDATE: 1})
    then.that(lambda s: s["currentStep"] == 1, "still at the pause step, past its duration")

    when.action("promote").wait_for_status(
        lambda s: (s.get("lastAction") or {}).get("verb") == "promote", "promote"
    )

    then = when.then()
    then.that(lambda s: s["lastAction"]["result"] == "ignored: spec.paused is true", "promote is refused")
    then.that(lambda s: s["currentStep"] == 1 and s["candidateWeight"] == 25, "nothing moved")

    when.patch_spec({"paused": False}).wait_for_phase("Promoted", timeout=60)

    then = when.then()
    then.phase("Promoted").stable_version("v2").replicas({CANDIDATE: 4, STABLE: 0})


def test_an_invalid_action_is_warned_about_and_removed_unapplied(given: Given) -> None:
    given.service()
    spec = base_spec(given.env, steps=[{"setWeight": 25}, {"pause": {}}])
    when = given.rollout(spec).wait_for_status(_at(1, 25), "paused by the step at 25%", timeout=60)

    annotate_action(given.env, "explode:1234")
    wait_for(
        lambda: "modelrollout.io/action" not in (given.env.rollout()["metadata"].get("annotations") or {}),
        30,
        "the invalid action annotation to be removed",
    )

    then = when.then()
    then.event("InvalidAction")
    then.that(lambda s: s.get("lastAction") is None, "no action recorded as taken")
    then.phase("Paused").candidate_weight(25).that(lambda s: s["currentStep"] == 1, "nothing moved")
    then.replicas({STABLE: 3, CANDIDATE: 1})
    warnings = [e for e in given.env.events() if e["reason"] == "InvalidAction" and e["type"] == "Warning"]
    assert warnings and "explode" in warnings[0]["message"], warnings


def test_an_abort_is_applied_within_seconds_while_prometheus_never_answers(given: Given) -> None:
    with black_hole() as silent_prometheus:
        # given a canary at its analysis step whose Prometheus accepts connections and never
        # answers: each query waits its 20 s timeout, twice, and one interval sends several
        given.service()
        analysis = {
            "interval": "5s", "maxDuration": "60s",
            "prometheus": {"address": silent_prometheus, "timeout": "20s"},
            "metrics": [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}],
        }  # fmt: skip
        spec = base_spec(given.env, steps=[{"setWeight": 50}, {"analysis": {}}], analysis=analysis)
        when = (
            given.rollout(spec)
            .wait_for_status(_at(1, 50, "Progressing"), "the analysis step at 50%", timeout=60)
            .sleep(12)
        )  # an interval has ended: its analysis waits on Prometheus now

        # when the user aborts
        written = time.time()
        when.action("abort").wait_for_phase("RolledBack", timeout=60)

    # then the abort was applied at once, not after the analysis gave up
    then = when.then()
    then.phase("RolledBack").candidate_weight(0).replicas({STABLE: 4, CANDIDATE: 0})
    then.that(lambda s: s["lastAction"]["result"] == "aborted", "the abort was taken")
    then.that(
        lambda s: datetime.fromisoformat(s["lastAction"]["at"]).timestamp() - written < 5,
        "within 5 s of the annotation",
    )
