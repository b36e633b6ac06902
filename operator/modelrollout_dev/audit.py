"""Counting one user's requests in the apiserver's audit log (`LocalCluster.audit_log`).

The log is the apiserver's own account of what each client asked, so a count taken from it holds
whatever the client does internally (caches, retries, kopf's own calls). A watch is one request
however long it streams: its entries share one auditID and are counted once, at its start.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OPERATOR_USER = "system:serviceaccount:modelrollout-system:modelrollout-operator"
"""The installed operator's identity (manifests/install/rbac.yaml)."""


def audit_counts(
    path: Path, user: str, since: datetime | None = None, until: datetime | None = None
) -> Counter[tuple[str, str]]:
    """Requests of `user` received in [since, until), by (verb, resource[/subresource]).

    A request without an object (discovery, /version) counts under its path. The files the
    apiserver rotated away beside `path` are read too, so a window across a rotation is whole.
    """
    counts: Counter[tuple[str, str]] = Counter()
    seen: set[str] = set()
    for entry in _entries(path):
        if entry.get("user", {}).get("username") != user:
            continue
        audit_id = str(entry.get("auditID", ""))
        if audit_id in seen:
            continue
        received = _timestamp(entry.get("requestReceivedTimestamp"))
        if received is None or (since is not None and received < since):
            continue
        if until is not None and received >= until:
            continue
        seen.add(audit_id)
        counts[(str(entry.get("verb", "")), _resource(entry))] += 1
    return counts


def format_counts(counts: Counter[tuple[str, str]], per: float = 1.0) -> str:
    """One line per (verb, resource), largest first, divided by `per` (e.g. the rollout count)."""
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "\n".join(f"  {verb:>6} {resource:<40} {count / per:8.2f}" for (verb, resource), count in rows)


def audit_policy(groups: tuple[str, ...]) -> dict[str, Any]:
    """Metadata (who, verb, object, response code; no bodies) for `groups`, nothing for anyone
    else; RequestReceived is omitted so each request is one line (a watch: two, one auditID)."""
    rules: list[dict[str, Any]] = [{"level": "Metadata", "userGroups": list(groups)}] if groups else []
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [*rules, {"level": "None"}],
    }


def settings_fingerprint(groups: tuple[str, ...]) -> str:
    """What a cluster auditing `groups` records beside its pid files (`recorded_running` compares it)."""
    policy = audit_policy(groups)
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:16]


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    rotated = sorted(path.parent.glob(f"{path.stem}-*{path.suffix}"))
    for file in [*rotated, path]:
        if not file.exists():
            continue
        with file.open(errors="replace") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except ValueError:  # the last line while the apiserver is still writing it
                    continue
                if isinstance(entry, dict):
                    yield entry


def _resource(entry: dict[str, Any]) -> str:
    ref = entry.get("objectRef") or {}
    resource = ref.get("resource")
    if not resource:
        return str(entry.get("requestURI", "?")).split("?", 1)[0]
    group = ref.get("apiGroup")
    name = f"{resource}.{group}" if group else str(resource)
    subresource = ref.get("subresource")
    return f"{name}/{subresource}" if subresource else name


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
