"""The pure half of leader election: reading a coordination.k8s.io/v1 Lease, deciding whether
this replica may take it, and the Lease it then writes. No I/O (`leader.py` does the calls), so
the rule that keeps two replicas from acting together is tested with plain values.

The rule is client-go's: a Lease whose holder has not renewed it within its own
`leaseDurationSeconds` is free. Renewal times are wall-clock times written by the holder, so the
replicas' clocks must agree to well within the lease duration (as they do under NTP). Taking a
Lease is a write conditional on the resourceVersion that was read: of two replicas that both see
it free, the apiserver lets one win and gives the other a 409.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..api.v1alpha1 import parse_timestamp

LEASE_API_VERSION = "coordination.k8s.io/v1"


@dataclass(frozen=True)
class LeaseRecord:
    """What a stored Lease says about its holder."""

    holder: str | None
    renewed_at: datetime | None
    duration_seconds: float
    acquired_at: datetime | None = None
    transitions: int = 0
    resource_version: str | None = None


def read_lease(body: dict[str, Any]) -> LeaseRecord:
    spec = body.get("spec") or {}
    return LeaseRecord(
        holder=spec.get("holderIdentity") or None,
        renewed_at=_time(spec.get("renewTime")),
        duration_seconds=float(spec.get("leaseDurationSeconds") or 0),
        acquired_at=_time(spec.get("acquireTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=(body.get("metadata") or {}).get("resourceVersion"),
    )


def may_take(record: LeaseRecord, identity: str, now: datetime) -> bool:
    """Whether `identity` may write itself into the Lease at `now`: it holds it already (a
    renewal), nobody holds it, or the holder let it expire (no renewal for its duration)."""
    if record.holder is None or record.holder == identity or record.renewed_at is None:
        return True
    return now >= record.renewed_at + timedelta(seconds=record.duration_seconds)


def expires_at(record: LeaseRecord) -> datetime | None:
    if record.renewed_at is None:
        return None
    return record.renewed_at + timedelta(seconds=record.duration_seconds)


def taken_lease(
    namespace: str,
    name: str,
    previous: LeaseRecord | None,
    identity: str,
    duration_seconds: float,
    now: datetime,
) -> dict[str, Any]:
    """The Lease `identity` writes to take or renew it. It carries the resourceVersion of the
    Lease that was read (so a rival's write in between makes it a 409); a renewal keeps the
    acquire time, a take-over starts a new one and counts a transition."""
    renewing = previous is not None and previous.holder == identity
    acquired = previous.acquired_at if renewing and previous is not None else None
    transitions = previous.transitions if previous is not None else 0
    if previous is not None and previous.holder is not None and not renewing:
        transitions += 1
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if previous is not None and previous.resource_version is not None:
        metadata["resourceVersion"] = previous.resource_version
    at = micro_time(now)
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": math.ceil(duration_seconds),
            "acquireTime": micro_time(acquired) if acquired is not None else at,
            "renewTime": at,
            "leaseTransitions": transitions,
        },
    }


def micro_time(moment: datetime) -> str:
    """A metav1.MicroTime: the apiserver parses exactly six fractional digits and a zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: Any) -> datetime | None:
    return parse_timestamp(text) if isinstance(text, str) else None
