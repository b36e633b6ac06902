"""`spec.replicas` moved under a running rollout (by an HPA through the scale subresource, or
`kubectl scale`): the next `decide` splits the new total between the versions by their current
weights, in any phase, and nothing else changes: the step, its clocks, the phase and the history
stay, no Event is posted and no lineage is recorded. An aborted candidate stays at zero."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Phase
from modelrollout.rollout import ActionVerb, ManualAction, RecordLineage

from ...fixtures.rollout_world import World, drive, events, make_spec, of_type, ready, status_at

STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]


def paused_at_25_percent() -> tuple[World, ModelRolloutStatus]:
    """Four replicas, the rollout paused by its step at 25%: stable 3, candidate 1."""
    world = World(make_spec(STEPS, replicas=4), deployments=ready(v7=4))
    status, _ = drive(world, status_at("Promoted", candidate=None), until=lambda s: s.current_step == 1)
    return world, status


def acted(world: World, status: ModelRolloutStatus, verb: ActionVerb) -> ModelRolloutStatus:
    """One reconcile taking a manual action; pods do not settle yet."""
    world.extra["action"] = ManualAction(verb=verb, nonce="1")
    decided = world.step(status, settle=False).status
    del world.extra["action"]
    return decided


def resize(world: World, replicas: int) -> None:
    """The HPA writes `spec.replicas` through the scale subresource (a new generation)."""
    world.spec = world.spec.model_copy(update={"replicas": replicas})
    world.generation += 1


def rescaled(world: World, status: ModelRolloutStatus, replicas: int) -> ModelRolloutStatus:
    """A new size, one reconcile, pods settle."""
    resize(world, replicas)
    decision = world.step(status)
    assert events(decision) == [], "a new size is not a transition"
    assert of_type(decision, RecordLineage) == [], "nor a fact for the lineage"
    return decision.status


def sizes(world: World) -> dict[str, int]:
    return {version: state.replicas for version, state in world.deployments.items()}


def unchanged_progress(before: ModelRolloutStatus, after: ModelRolloutStatus) -> None:
    kept = ("phase", "current_step", "step_started_at", "rollout_started_at", "weights", "history")
    assert {f: getattr(after, f) for f in kept} == {f: getattr(before, f) for f in kept}
    assert after.observed_generation == before.observed_generation + 1  # type: ignore[operator]


def test_progressing_splits_the_new_total_by_the_weights_at_the_same_step() -> None:
    world, status = paused_at_25_percent()
    assert (status.phase, sizes(world)) == (Phase.PAUSED, {"v7": 3, "v8": 1})

    grown = rescaled(world, status, 8)
    assert sizes(world) == {"v7": 6, "v8": 2}, "25% of 8"
    unchanged_progress(status, grown)

    shrunk = rescaled(world, grown, 2)
    assert sizes(world) == {"v7": 1, "v8": 1}, "every version with a weight keeps a pod"
    unchanged_progress(grown, shrunk)


def test_a_running_analysis_keeps_its_clock_when_the_size_moves() -> None:
    steps = [{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}]
    world = World(make_spec(steps, replicas=4), deployments=ready(v7=4))
    status, _ = drive(world, status_at("Promoted", candidate=None), until=lambda s: s.analysis is not None)
    assert (status.phase, status.current_step, sizes(world)) == (Phase.PROGRESSING, 1, {"v7": 2, "v8": 2})

    grown = rescaled(world, status, 10)
    assert sizes(world) == {"v7": 5, "v8": 5}
    unchanged_progress(status, grown)
    assert grown.analysis == status.analysis, "the analysis started when it did"


def test_an_aborted_candidate_stays_at_zero_whatever_the_size() -> None:
    world, status = paused_at_25_percent()
    status, _ = drive(world, acted(world, status, ActionVerb.ABORT))
    assert (status.phase, sizes(world)) == (Phase.ROLLED_BACK, {"v7": 4, "v8": 0})

    for replicas in (9, 2, 5):
        after = rescaled(world, status, replicas)
        assert sizes(world) == {"v7": replicas, "v8": 0}
        unchanged_progress(status, after)
        status = after


def test_a_size_set_while_rolling_back_goes_all_to_the_stable() -> None:
    world, status = paused_at_25_percent()
    rolling_back = acted(world, status, ActionVerb.ABORT)
    assert rolling_back.phase == Phase.ROLLING_BACK

    status, _ = drive(world, rescaled(world, rolling_back, 6))
    assert (status.phase, sizes(world)) == (Phase.ROLLED_BACK, {"v7": 6, "v8": 0})


def test_a_promoted_candidate_is_the_stable_and_takes_the_whole_size() -> None:
    world, status = paused_at_25_percent()
    status, _ = drive(world, acted(world, status, ActionVerb.PROMOTE_FULL))
    assert (status.phase, status.stable_version, sizes(world)) == (Phase.PROMOTED, "v8", {"v7": 0, "v8": 4})

    after = rescaled(world, status, 7)
    assert sizes(world) == {"v7": 0, "v8": 7}
    unchanged_progress(status, after)


def test_promoting_grows_the_candidate_to_the_new_total_while_the_stable_is_held() -> None:
    world, status = paused_at_25_percent()
    promoting = acted(world, status, ActionVerb.PROMOTE_FULL)
    # Surge first: the candidate grows by maxSurge (25% of 4, one pod) while the stable is held.
    assert (promoting.phase, sizes(world)) == (Phase.PROMOTING, {"v7": 3, "v8": 2})

    resize(world, 8)
    still_promoting = world.step(promoting, settle=False).status
    # The new total's surge (25% of 8, two pods) allows 10 pods: the held stable's 3 and 7.
    assert (still_promoting.phase, sizes(world)) == (Phase.PROMOTING, {"v7": 3, "v8": 7})

    world.settle()
    status, _ = drive(world, still_promoting)
    assert (status.phase, status.stable_version, sizes(world)) == (Phase.PROMOTED, "v8", {"v7": 0, "v8": 8})
