"""`undo`: back to an earlier good version at once, without analysis and without a dip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Outcome, Phase
from modelrollout.controller.ownership import versions_kept_on_delete
from modelrollout.rollout import (
    ApplyWeights,
    Decision,
    ManualAction,
    RecordLineage,
    decide,
)

from ...fixtures.rollout_world import World, drive, events, make_spec, of_type, ready

STEPS: list[dict[str, Any]] = [{"setWeight": 50}]


def promoted(*versions: str, **spec_fields: Any) -> tuple[World, ModelRolloutStatus]:
    """v7 serves; each of `versions` in turn is rolled out over the one before and promoted."""
    world = World(make_spec(STEPS, candidate=None, **spec_fields), deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    for version in versions:
        world.spec = make_spec(STEPS, candidate=version, **spec_fields)
        status, _ = drive(world, status)
        assert (status.phase, status.stable_version) == (Phase.PROMOTED, version)
    return world, status


def act(world: World, status: ModelRolloutStatus, annotation: str) -> Decision:
    world.extra["action"] = ManualAction.parse(annotation)
    decision = world.step(status, settle=False)
    world.extra.pop("action")
    return decision


def conditions(status: ModelRolloutStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


@pytest.mark.parametrize(
    ("annotation", "version", "nonce"),
    [("undo", None, ""), ("undo:n1", None, "n1"), ("undo:v7:n1", "v7", "n1"), ("promote:a:b", None, "a:b")],
)
def test_only_undo_reads_a_version_before_its_nonce(annotation: str, version: str | None, nonce: str) -> None:
    action = ManualAction.parse(annotation)
    assert (action.version, action.nonce) == (version, nonce)


def test_undo_returns_to_the_previous_stable_and_marks_the_undone_version() -> None:
    world, status = promoted("v8")
    assert world.deployments["v7"].replicas == 0, "the old stable is kept at zero for a revert"

    decision = act(world, status, "undo:n1")
    status = decision.status
    assert (status.phase, status.stable_version, status.candidate_version) == (Phase.ROLLING_BACK, "v7", "v8")
    assert status.last_action is not None and status.last_action.result == "undoing v8: returning to v7"
    assert ("Warning", "Undone") in events(decision)
    assert [(f.version, f.outcome) for f in of_type(decision, RecordLineage)] == [("v7", Outcome.STABLE)]

    status, decisions = drive(world, status)
    assert (status.phase, status.stable_version, status.candidate_version) == (Phase.ROLLED_BACK, "v7", "v8")
    assert status.weights == {"v7": 100, "v8": 0}
    assert (world.deployments["v7"].replicas, world.deployments["v8"].replicas) == (3, 0)
    assert conditions(status)["Progressing"] == ("False", "Undone")
    assert conditions(status)["Degraded"][0] == "False", "an undo is a choice, not a failure"
    facts = [(f.version, f.outcome, f.reason) for d in decisions for f in of_type(d, RecordLineage)]
    assert facts == [("v8", Outcome.ROLLED_BACK, "Undone")]
    assert status.history[-1].outcome == Outcome.ROLLED_BACK.value
    assert status.history[-1].reason == "Undone"


def test_the_undone_version_serves_until_the_old_one_is_available() -> None:
    """Users are served throughout: v8 gives a pod up only once v7's replace it."""
    world, status = promoted("v8")
    status = act(world, status, "undo:n1").status
    for _ in range(40):
        before = dict(world.deployments)
        decision = world.step(status, settle=False)
        for apply in of_type(decision, ApplyWeights):
            served = sum(
                min(apply.replicas.get(v, s.replicas), s.available_replicas) for v, s in before.items()
            )
            assert served >= 3, f"asked {apply.replicas} while {before} were available"
        world.settle()
        status = decision.status
        if status.phase == Phase.ROLLED_BACK:
            break
        world.now += timedelta(seconds=2)
    assert status.phase == Phase.ROLLED_BACK


def test_the_undone_candidate_stays_rolled_back_until_retry() -> None:
    world, status = promoted("v8")
    status, _ = drive(world, act(world, status, "undo:n1").status)
    for _ in range(3):
        status = world.step(status).status
    assert (status.phase, status.candidate_version) == (Phase.ROLLED_BACK, "v8"), (
        "the spec's v8 is not restarted"
    )

    status = act(world, status, "retry:n2").status
    assert (status.phase, status.stable_version, status.candidate_version) == (Phase.PROGRESSING, "v7", "v8")
    assert status.current_step == 0


def test_a_new_candidate_starts_from_the_version_returned_to() -> None:
    world, status = promoted("v8")
    status, _ = drive(world, act(world, status, "undo:n1").status)
    world.spec = make_spec(STEPS, candidate="v9")
    status = world.step(status).status
    assert (status.phase, status.stable_version, status.candidate_version) == (Phase.PROGRESSING, "v7", "v9")


def test_a_candidate_named_mid_undo_waits_for_the_undo_to_finish() -> None:
    """Superseding the undone version would take its pods away before v7's are back."""
    world, status = promoted("v8")
    status = act(world, status, "undo:n1").status
    world.spec = make_spec(STEPS, candidate="v9")
    decision = world.step(status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert world.deployments["v8"].replicas == 3
    status, _ = drive(world, decision.status, until=lambda s: s.candidate_version == "v9")
    assert (status.stable_version, status.phase) == ("v7", Phase.PROGRESSING)


def test_undo_to_a_named_version_still_kept() -> None:
    world, status = promoted("v8", "v9")
    decision = act(world, status, "undo:v7:n1")
    assert decision.status.last_action is not None
    assert decision.status.last_action.result == "undoing v9: returning to v7"
    status, _ = drive(world, decision.status)
    assert (status.stable_version, status.candidate_version, status.phase) == ("v7", "v9", Phase.ROLLED_BACK)
    assert world.deployments["v8"].replicas == 0, "v8 is still kept for another undo"


@pytest.mark.parametrize(
    ("annotation", "limit", "result"),
    [
        ("undo:v3:n1", 3, "ignored: v3 is not kept for an undo (kept: v7; revisionHistoryLimit 3)"),
        ("undo:v8:n1", 3, "ignored: v8 is already the stable version"),
        ("undo:n1", 0, "ignored: no earlier version is kept to return to (revisionHistoryLimit 0)"),
    ],
)
def test_an_undo_it_cannot_carry_out_is_refused_with_a_warning(
    annotation: str, limit: int, result: str
) -> None:
    world, status = promoted("v8", revision_history_limit=limit)
    decision = act(world, status, annotation)
    assert decision.status.last_action is not None and decision.status.last_action.result == result
    assert ("Warning", "ActionIgnored") in events(decision)
    assert (decision.status.phase, decision.status.stable_version) == (Phase.PROMOTED, "v8")


def test_an_old_stable_whose_deployment_is_gone_is_not_a_target() -> None:
    world, status = promoted("v8")
    del world.deployments["v7"]
    decision = act(world, status, "undo:n1")
    assert decision.status.last_action is not None
    assert decision.status.last_action.result.startswith("ignored: no earlier version is kept")


def test_undo_is_refused_while_a_rollout_is_under_way() -> None:
    world, status = promoted("v8")
    world.spec = make_spec([{"setWeight": 20}, {"pause": {}}], candidate="v9")
    status, _ = drive(world, status, until=lambda s: s.phase == Phase.PAUSED)
    decision = act(world, status, "undo:n1")
    assert decision.status.last_action is not None
    assert decision.status.last_action.result.startswith(
        "ignored: undo applies while one version serves alone"
    )
    assert decision.status.phase == Phase.PAUSED


def test_deleting_the_rollout_mid_undo_keeps_the_version_still_serving() -> None:
    world, status = promoted("v8")
    status = act(world, status, "undo:n1").status
    assert versions_kept_on_delete(status) == {"v7", "v8"}
    status, _ = drive(world, status)
    assert versions_kept_on_delete(status) == {"v7"}


def test_undo_is_applied_once_per_nonce() -> None:
    world, status = promoted("v8")
    status, _ = drive(world, act(world, status, "undo:n1").status)
    world.extra["action"] = ManualAction.parse("undo:n1")
    again = decide(world.spec, status, world.observe(status), world.now)
    assert again.status.last_action == status.last_action
    assert again.status.stable_version == "v7"


def test_an_abort_mid_undo_waits_for_the_undo_to_finish() -> None:
    world, status = promoted("v8")
    status = act(world, status, "undo:n1").status
    world.spec = make_spec(STEPS, candidate="v9")
    decision = act(world, status, "abort:n2")
    assert decision.status.last_action is not None
    assert decision.status.last_action.result.startswith("ignored: an undo is under way")
    assert (decision.status.phase, world.deployments["v8"].replicas) == (Phase.ROLLING_BACK, 3)
