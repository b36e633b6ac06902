"""`kubectl modelrollout status`: the sticky split (`spec.strategy.canary.stickiness`), under the
weights, so a person reading why one user always sees the candidate finds it there."""

from __future__ import annotations

from typing import Any

from ..api.v1alpha1 import as_percent

__all__ = ["sticky_lines"]


def sticky_lines(rollout: dict[str, Any]) -> list[str]:
    """One line when the spec asks for a sticky split (none otherwise): by what the user is told,
    and whether the router holds it now (only while more than one version has a weight)."""
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    stickiness = canary.get("stickiness") or {}
    if stickiness.get("header"):
        source = f"header {stickiness['header']}"
    elif stickiness.get("cookie"):
        source = f"cookie {stickiness['cookie']}"
    else:
        return []
    weights = (rollout.get("status") or {}).get("weights") or {}
    split = sum(1 for weight in weights.values() if as_percent(weight) > 0) > 1
    state = "each user keeps one version" if split else "applies while the weights split"
    return [f"  sticky     by {source}: {state}"]
