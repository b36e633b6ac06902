"""`get`'s table and `lineage`'s tree and Graphviz output."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from modelrollout.cli.get import step_text, table
from modelrollout.cli.lineage import dot, structured, tree
from modelrollout.cli.table import age

from .samples import ANALYSING, PAUSED_AT_STEP_2, rollout

NOW = datetime(2026, 12, 6, 10, 4, tzinfo=UTC)

LINEAGE = {
    "phase": "Paused", "stableVersion": "v2", "candidateVersion": "v4", "stablePath": ["v1", "v2"],
    "lineage": [
        {"version": "v1", "outcome": "Superseded", "createdAt": "2026-12-01T00:00:00Z"},
        {"version": "v2", "parent": "v1", "outcome": "Promoted", "promotedAt": "2026-12-02T00:00:00Z"},
        {"version": "v3", "parent": "v2", "outcome": "RolledBack", "reason": "AnalysisFailed"},
        {"version": "v4", "parent": "v2", "outcome": "Progressing"},
        {"version": "v9", "parent": "v0", "outcome": "Aborted"},
    ],
}  # fmt: skip


def test_get_prints_kubectl_columns_and_wide_adds_the_verdict() -> None:
    text = table([rollout(PAUSED_AT_STEP_2)], NOW, wide=False, namespaces=False)
    assert text.splitlines()[0].split() == ["NAME", "PHASE", "STABLE", "CANDIDATE", "WEIGHT", "STEP", "AGE"]
    assert text.splitlines()[1].split() == ["fraud-scorer", "Paused", "v1", "v2", "25%", "2/4", "4m"]
    wide = table([rollout(ANALYSING)], NOW, wide=True, namespaces=True).splitlines()
    assert wide[0].split()[:2] == ["NAMESPACE", "NAME"] and "VERDICT" in wide[0]
    assert "Inconclusive" in wide[1] and "promote: step 2 completed" in wide[1]


def test_lines_printed_later_keep_the_columns_printed_first() -> None:
    first = table([rollout(PAUSED_AT_STEP_2)], NOW, wide=False, namespaces=False, minimum=[20, 12])
    assert first.splitlines()[1].startswith("fraud-scorer" + " " * 11 + "Paused" + " " * 9 + "v1")


def test_step_and_age_texts() -> None:
    assert step_text(rollout()) == "-"
    assert step_text(rollout({"currentStep": 4})) == "4/4"
    assert [age(t, NOW) for t in ("2026-12-06T10:03:30Z", "2026-12-06T09:00:00Z", "2026-12-01T10:04:00Z", None)] == [
        "30s", "64m", "5d", "<unknown>",
    ]  # fmt: skip


def test_lineage_tree_nests_children_under_their_parent_and_marks_the_stable() -> None:
    assert tree(rollout(LINEAGE)).splitlines() == [
        "fraud-scorer",
        "├── v1  Superseded  2026-12-01T00:00:00Z",
        "│   └── v2  Promoted  2026-12-02T00:00:00Z  <- stable",
        "│       ├── v3  RolledBack  (AnalysisFailed)",
        "│       └── v4  Progressing",
        "└── v9  Aborted",
    ]
    assert tree(rollout({"phase": "Pending"})) == "fraud-scorer: no versions yet"


def test_lineage_dot_and_json() -> None:
    text = dot(rollout(LINEAGE))
    assert text.startswith('digraph "fraud-scorer" {') and text.rstrip().endswith("}")
    assert '"v2" -> "v3";' in text and '"v2" -> "v4";' in text and '"v0"' not in text
    assert '"v2" [label="v2\\nPromoted", fillcolor=palegreen, penwidth=3];' in text
    data = json.loads(json.dumps(structured(rollout(LINEAGE))))
    assert data["stablePath"] == ["v1", "v2"] and len(data["lineage"]) == 5
