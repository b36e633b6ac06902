"""The action verbs: the annotation they write, and the states where the operator would ignore them."""

from __future__ import annotations

from typing import Any

import pytest

from modelrollout.cli.actions import action_value, annotation_verb, new_nonce, refusal
from modelrollout.rollout import ManualAction

from .samples import PAUSED_AT_STEP_2, rollout


def test_the_annotation_parses_as_the_operator_reads_it_with_a_fresh_nonce() -> None:
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    for verb, full, expected in [("promote", True, "promote-full"), ("promote", False, "promote"),
                                 ("abort", False, "abort"), ("retry", False, "retry")]:  # fmt: skip
        value = action_value(annotation_verb(verb, full), "cafe0123")
        parsed = ManualAction.parse(value)
        assert (parsed.verb.value, parsed.nonce) == (expected, "cafe0123")


def _status(**changes: Any) -> dict[str, Any]:
    return {**PAUSED_AT_STEP_2, **changes}


@pytest.mark.parametrize(
    ("verb", "status", "spec", "expected"),
    [
        ("promote", _status(), {}, None),
        ("pause", _status(pausedReason=None, phase="Progressing"), {}, None),
        ("pause", _status(pausedReason="PausedByUser"), {}, "already paused (PausedByUser)"),
        ("pause", _status(), {}, "already paused (PausedByStep)"),  # an indefinite pause step
        ("resume", _status(), {}, None),
        ("resume", _status(pausedReason=None, phase="Progressing"), {}, "not paused by a step, a user or an analysis"),
        ("promote", _status(), {"paused": True}, "spec.paused is true"),
        ("promote", _status(phase="Promoted", candidateVersion=None, stableVersion="v2"), {},
         "no rollout is progressing (phase Promoted)"),
        ("abort", _status(), {}, None),
        ("abort", _status(phase="Promoting"), {}, None),
        ("abort", _status(phase="RollingBack"), {}, "already rolling back"),
        ("abort", _status(phase="Promoted", candidateVersion=None, stableVersion="v2"), {}, "no rollout to abort"),
        ("abort", _status(phase="Promoted", candidateVersion=None, stableVersion="v1"), {}, None),  # unstarted v2
        ("retry", _status(phase="RolledBack"), {}, None),
        ("retry", _status(), {}, "retry applies to a rolled back candidate still in the spec"),
        ("retry", _status(phase="RolledBack", candidateVersion="v1b"), {},
         "retry applies to a rolled back candidate still in the spec"),
    ],
)  # fmt: skip
def test_refusals_follow_the_operator(
    verb: str, status: dict[str, Any], spec: dict[str, Any], expected: str | None
) -> None:
    assert refusal(verb, rollout(status, **spec)) == expected


PROMOTED_V2 = _status(
    phase="Promoted",
    pausedReason=None,
    stableVersion="v2",
    candidateVersion=None,
    candidateWeight=0,
    weights={"v2": 100},
    currentStep=None,
    history=[{"candidate": "v2", "stable": "v1", "outcome": "Promoted", "startedAt": "2026-12-06T10:01:00Z",
              "finishedAt": "2026-12-06T10:05:00Z"}],
)  # fmt: skip


def _deployment(version: str, replicas: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"fraud-scorer-{version}", "labels": {"modelrollout.io/version": version}},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


@pytest.mark.parametrize(
    ("version", "deployments", "expected"),
    [
        (None, [_deployment("v1", 0), _deployment("v2", 3)], None),
        ("v1", [_deployment("v1", 0), _deployment("v2", 3)], None),
        (None, [_deployment("v2", 3)], "no earlier version is kept to return to (revisionHistoryLimit 3)"),
        ("v0", [_deployment("v1", 0), _deployment("v2", 3)],
         "v0 is not kept for an undo (kept: v1; revisionHistoryLimit 3)"),
    ],
)  # fmt: skip
def test_undo_is_checked_against_the_versions_kept(
    version: str | None, deployments: list[dict[str, Any]], expected: str | None
) -> None:
    assert refusal("undo", rollout(PROMOTED_V2), deployments, version) == expected
    parsed = ManualAction.parse(action_value("undo", "cafe0123", version))
    assert (parsed.verb.value, parsed.version, parsed.nonce) == ("undo", version, "cafe0123")


def test_undo_is_refused_while_a_rollout_is_under_way() -> None:
    reason = refusal("undo", rollout(_status()), [_deployment("v1", 3), _deployment("v2", 1)])
    assert reason is not None and reason.startswith("undo applies while one version serves alone")
