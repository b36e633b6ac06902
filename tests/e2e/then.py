"""Then: assertions only, on the status read once when Then is made (When has already waited for
the state) and on the Deployments and Events read as each assertion runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .env import Env, conditions, lease, promql


class Then:
    def __init__(self, env: Env, status: dict[str, Any] | None = None) -> None:
        self.env = env
        self.status = status if status is not None else env.status() if env.name else {}

    def phase(self, expected: str) -> Then:
        assert self.status.get("phase") == expected, self.status
        return self

    def stable_version(self, expected: str) -> Then:
        assert self.status.get("stableVersion") == expected, self.status
        return self

    def candidate_weight(self, expected: int) -> Then:
        assert self.status.get("candidateWeight") == expected, self.status
        return self

    def replicas(self, expected: dict[str, int]) -> Then:
        actual = self.env.replicas()
        assert {k: actual.get(k) for k in expected} == expected, actual
        return self

    def deployments(self, expected: set[str]) -> Then:
        """Exactly these Deployments in the namespace."""
        actual = set(self.env.deployments())
        assert actual == expected, sorted(actual)
        return self

    def deployment_available(self, name: str, replicas: int) -> Then:
        """The Deployment exists, is Available, and has `replicas` available pods."""
        deployments = self.env.deployments()
        assert name in deployments, f"Deployment {name} is gone; left: {sorted(deployments)}"
        status = deployments[name].get("status") or {}
        available = {c["type"]: c["status"] for c in status.get("conditions", [])}.get("Available")
        assert (available, status.get("availableReplicas")) == ("True", replicas), json.dumps(status)
        return self

    def condition(self, kind: str, status: str, reason: str | None = None) -> Then:
        found = conditions(self.status)
        assert kind in found, self.status.get("conditions")
        assert found[kind]["status"] == status, found[kind]
        if reason is not None:
            assert found[kind]["reason"] == reason, found[kind]
        return self

    def event(self, reason: str) -> Then:
        reasons = self.env.event_reasons()
        assert reason in reasons, reasons
        return self

    def event_message(self, reason: str, *parts: str) -> Then:
        """An Event of the rollout with `reason` whose message holds every one of `parts`."""
        messages = [message for found, message in self.env.rollout_events() if found == reason]
        assert any(all(part in message for part in parts) for message in messages), (parts, messages)
        return self

    def series(
        self, query: str, check: Callable[[dict[tuple[tuple[str, str], ...], float]], Any], what: str
    ) -> Then:
        """The test's Prometheus answers `query` (instant, now) with series that pass `check`."""
        found = promql(self.env, query)
        assert check(found), f"{what}: {query} -> {found}"
        return self

    def lineage_outcomes(self, expected: dict[str, str]) -> Then:
        outcomes = {e["version"]: e["outcome"] for e in self.status.get("lineage", [])}
        assert {k: outcomes.get(k) for k in expected} == expected, self.status.get("lineage")
        return self

    def lease_holder(self, identity: str | None, transitions: int) -> Then:
        """The leader election Lease names `identity` (None: released), after `transitions`
        changes of holder."""
        spec = lease(self.env)
        assert (spec.get("holderIdentity"), spec.get("leaseTransitions", 0)) == (identity, transitions), spec
        return self

    def that(self, check: Callable[[dict[str, Any]], Any], what: str) -> Then:
        assert check(self.status), f"{what}: {json.dumps(self.status)[:2000]}"
        return self
