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
