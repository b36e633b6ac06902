"""Staged Events are posted after a crash only for the status they were staged for."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Phase, Reason
from modelrollout.controller.outbox import StagedEvents, due_events, staged_events, status_digest
from modelrollout.rollout import EmitEvent

PROMOTING = ModelRolloutStatus.model_validate(
    {"phase": "Promoting", "stableVersion": "v1", "candidateVersion": "v2", "currentStep": 5,
     "weights": {"v1": 0, "v2": 100}, "candidateWeight": 100}
)  # fmt: skip
EVENTS = [
    EmitEvent(type="Normal", reason=Reason.STEP_COMPLETED, message="step 5/5 (pause 1s) completed"),
    EmitEvent(type="Normal", reason=Reason.STEP_COMPLETED, message="all steps completed: promoting v2"),
]


def test_events_staged_for_the_written_status_are_due_as_staged() -> None:
    annotation = staged_events(PROMOTING, EVENTS)

    assert list(due_events(annotation, PROMOTING).events) == EVENTS


def test_the_status_read_back_from_the_apiserver_matches_the_one_written() -> None:
    written = PROMOTING.model_dump(by_alias=True, exclude_none=True, mode="json")
    written["weights"] = {"v2": 100, "v1": 0}  # another key order
    written["kopf"] = {"dummy": "x"}  # kopf's field, kept by the controller's writes
    read_back = ModelRolloutStatus.model_validate(written)

    assert list(due_events(staged_events(PROMOTING, EVENTS), read_back).events) == EVENTS


def test_events_staged_for_a_status_never_written_are_dropped() -> None:
    still_progressing = PROMOTING.model_copy(update={"phase": Phase.PROGRESSING, "current_step": 4})

    assert due_events(staged_events(PROMOTING, EVENTS), still_progressing).events == ()


def test_a_damaged_annotation_stages_nothing() -> None:
    for text in (None, "", "{", "[]", '{"status": 1}', '{"events": [["Normal"]]}'):
        assert due_events(text, PROMOTING).events == ()
    unknown_reason = staged_events(PROMOTING, EVENTS).replace("StepCompleted", "NoSuchReason")
    assert due_events(unknown_reason, PROMOTING).events == ()


def test_a_staged_event_keeps_its_name_so_posting_it_again_is_a_conflict() -> None:
    """The names the first attempt posted under are the names recovery posts under."""
    first = StagedEvents(status_digest(PROMOTING), tuple(EVENTS)).named("fraud-scorer")
    recovered = due_events(staged_events(PROMOTING, EVENTS), PROMOTING).named("fraud-scorer")

    assert recovered == first
    assert len({name for name, _ in first}) == len(EVENTS)
    other = PROMOTING.model_copy(update={"message": "a later transition"})
    assert not {name for name, _ in first} & {
        name for name, _ in StagedEvents(status_digest(other), tuple(EVENTS)).named("fraud-scorer")
    }


def test_events_stay_due_after_the_scale_status_written_after_the_apply() -> None:
    # The transition's status is written, the Deployments scaled, then status.replicas/selector
    # written: a crash before the Events are posted must still find them due, under the same names.
    scaled = PROMOTING.model_copy(update={"replicas": 8, "selector": "modelrollout.io/rollout=r"})
    annotation = staged_events(PROMOTING, EVENTS)

    assert list(due_events(annotation, scaled).events) == EVENTS
    assert due_events(annotation, scaled).named("r") == StagedEvents(
        status_digest(PROMOTING), tuple(EVENTS)
    ).named("r")


def test_the_annotation_stays_small_whatever_the_events_say() -> None:
    """Past the cap the newest Events of a transition are not staged (the first keep their
    names), and each staged message is cut: the annotation stays a few KiB."""
    flood = [
        EmitEvent(type="Warning", reason=Reason.METRIC_NOT_FOUND, message=f"{index}: " + "<" * 200_000)
        for index in range(50)
    ]

    annotation = staged_events(PROMOTING, flood)

    assert len(annotation.encode()) <= 8 * 1024, len(annotation.encode())
    due = due_events(annotation, PROMOTING)
    assert [event.message.split(":")[0] for event in due.events] == [str(index) for index in range(8)]
    assert all(len(event.message) <= 512 and event.message.endswith("…") for event in due.events)
    posted_at_once = StagedEvents(due.digest, tuple(flood)).named("fraud-scorer")
    assert [name for name, _ in due.named("fraud-scorer")] == [name for name, _ in posted_at_once[:8]]
