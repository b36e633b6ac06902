"""Counting a user's requests in an apiserver audit log: a watch is one request, other users and
requests outside the window are not counted, rotated files are read too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelrollout_dev.audit import audit_counts

OPERATOR = "system:serviceaccount:modelrollout-system:modelrollout-operator"


def entry(
    audit_id: str, verb: str, at: str, user: str = OPERATOR, stage: str = "ResponseComplete", **ref: str
) -> dict[str, Any]:
    return {
        "auditID": audit_id,
        "stage": stage,
        "verb": verb,
        "user": {"username": user},
        "requestURI": "/apis/x?watch=1",
        "objectRef": ref or None,
        "requestReceivedTimestamp": at,
    }


def write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + '{"truncated')


def test_counts_by_verb_and_resource_in_the_window(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write(tmp_path / "audit-2030-01-01T00-00-00.000.log", [
        entry("a", "patch", "2030-01-01T00:00:01.5Z", resource="modelrollouts", apiGroup="modelrollout.io", subresource="status"),
    ])  # fmt: skip
    write(log, [
        entry("b", "watch", "2030-01-01T00:00:02Z", stage="ResponseStarted", resource="deployments", apiGroup="apps"),
        entry("b", "watch", "2030-01-01T00:00:02Z", resource="deployments", apiGroup="apps"),
        entry("c", "get", "2030-01-01T00:00:03Z", resource="services"),
        entry("d", "get", "2030-01-01T00:00:03Z", user="admin", resource="services"),
        entry("e", "get", "2030-01-01T00:00:06Z", resource="services"),
        entry("f", "get", "2030-01-01T00:00:00.9Z", resource="services"),
        entry("g", "get", "2030-01-01T00:00:04Z"),
    ])  # fmt: skip

    counts = audit_counts(
        log, OPERATOR, datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2030, 1, 1, 0, 0, 5, tzinfo=UTC)
    )

    assert counts == {
        ("patch", "modelrollouts.modelrollout.io/status"): 1,
        ("watch", "deployments.apps"): 1,
        ("get", "services"): 1,
        ("get", "/apis/x"): 1,
    }
