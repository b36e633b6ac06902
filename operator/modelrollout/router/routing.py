"""What one request is served by: a snapshot of the configuration and the pods, and the choice.

A `Snapshot` is immutable and replaced whole when the ConfigMap or an EndpointSlice changes, so a
request in flight finishes on the snapshot it started with and a change never drops it.

The order of the choice: a matching segment; else interleaving (both versions answer); else the
bandit (its own sampler, or in mode `weights` the weighted split below, counted as pulls); else
the sticky split when the request names its user; else the weighted split.
The stable is the first entry of `versions`: a request that fails on another version is retried
once on it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..api.router_config import RouterConfig, RouterVersion
from .bandit import ThompsonSampler
from .endpoints import SERVICE_LABEL, RoundRobin, ready_addresses
from .split import segment_version, sticky_choice, user_identity, weighted_choice

How = Literal["segment", "interleaving", "bandit", "sticky", "weight"]


@dataclass(frozen=True)
class Snapshot:
    config: RouterConfig
    pods: Mapping[str, RoundRobin]
    """Version -> its ready pods."""
    versions: Mapping[str, RouterVersion] = field(init=False)
    weights: tuple[tuple[str, float], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "versions", {v.name: v for v in self.config.versions})
        object.__setattr__(self, "weights", tuple((v.name, v.weight) for v in self.config.versions))

    @property
    def stable(self) -> str:
        return self.config.versions[0].name

    def ready(self) -> bool:
        """Whether some version that receives users has a ready pod."""
        sampled = self.config.bandit is not None and self.config.bandit.mode == "thompson"
        serving = [name for name, weight in self.weights if weight > 0.0 or sampled]
        return any(len(self.pods.get(name, ())) > 0 for name in serving or [self.stable])


def build_snapshot(config: RouterConfig, slices_by_service: Mapping[str, list[dict[str, Any]]]) -> Snapshot:
    pods = {
        v.name: RoundRobin(ready_addresses(slices_by_service.get(v.service, []), v.port))
        for v in config.versions
    }
    return Snapshot(config, pods)


def service_of(endpoint_slice: dict[str, Any]) -> str | None:
    labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
    service = labels.get(SERVICE_LABEL)
    return str(service) if service else None


@dataclass(frozen=True)
class Choice:
    version: str
    how: How


def choose(
    snapshot: Snapshot,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    rng: random.Random,
    sampler: ThompsonSampler | None,
) -> Choice:
    config = snapshot.config
    segment = segment_version(config.segments, headers, cookies) if config.segments else None
    if segment is not None:
        return Choice(segment, "segment")
    if config.interleaving is not None:
        return Choice(config.interleaving.versions[0], "interleaving")
    sampled = config.bandit is not None and config.bandit.mode == "thompson"
    if sampled and sampler is not None:
        return Choice(sampler.choose([v.name for v in config.versions], rng), "bandit")
    user = user_identity(config.stickiness, headers, cookies) if config.stickiness is not None else None
    version = sticky_choice(snapshot.weights, user) if user is not None else None
    version = version or weighted_choice(snapshot.weights, rng.random())
    if config.bandit is not None and sampler is not None:
        return Choice(version, "bandit")  # mode weights: the operator's split, each request a pull
    return Choice(version, "sticky" if user is not None else "weight")
