"""Weights to replicas: the rounding of the `replicas` provider at its edges, and the factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import TrafficProvider
from modelrollout.traffic import (
    NopProvider,
    Provider,
    ReplicaProvider,
    RouteTarget,
    apportion,
    new_provider,
    replica_share,
)

PROVIDER = ReplicaProvider()

# (total, candidate weight) -> (stable replicas, candidate replicas)
PLANS = {
    (1, 0): (1, 0), (1, 1): (1, 1), (1, 5): (1, 1), (1, 50): (1, 1), (1, 99): (1, 1), (1, 100): (0, 1),
    (2, 0): (2, 0), (2, 1): (1, 1), (2, 5): (1, 1), (2, 50): (1, 1), (2, 99): (1, 1), (2, 100): (0, 2),
    (3, 0): (3, 0), (3, 1): (2, 1), (3, 5): (2, 1), (3, 50): (2, 1), (3, 99): (1, 2), (3, 100): (0, 3),
    (10, 0): (10, 0), (10, 1): (9, 1), (10, 5): (9, 1), (10, 50): (5, 5), (10, 99): (1, 9), (10, 100): (0, 10),
}  # fmt: skip


@pytest.mark.parametrize(("total", "weight"), sorted(PLANS))
def test_replica_plan_rounding(total: int, weight: int) -> None:
    plan = PROVIDER.replica_plan({"v7": 100 - weight, "v8": weight}, total)
    assert (plan["v7"], plan["v8"]) == PLANS[(total, weight)]


@pytest.mark.parametrize(
    ("total", "weight", "effective"),
    [(3, 5, 33), (3, 50, 33), (3, 99, 67), (10, 5, 10), (10, 50, 50), (1, 50, 50), (1, 100, 100), (3, 0, 0)],
)
def test_effective_weight_is_the_replica_ratio(total: int, weight: int, effective: int) -> None:
    shares = PROVIDER.effective_weights({"v7": 100 - weight, "v8": weight}, total)
    assert shares["v8"] == effective
    assert sum(shares.values()) == 100


@given(
    total=st.integers(min_value=1, max_value=200),
    weights=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=4).filter(
        lambda w: sum(w) > 0
    ),
)
def test_every_weighted_version_runs_and_the_total_holds(total: int, weights: list[int]) -> None:
    scaled = _to_percent(weights)
    named = {f"v{i}": weight for i, weight in enumerate(scaled)}
    plan = PROVIDER.replica_plan(named, total)
    weighted = [v for v, w in named.items() if w > 0]
    assert all(plan[v] >= 1 for v in weighted)
    assert all(plan[v] == 0 for v, w in named.items() if w == 0)
    assert sum(plan.values()) == max(total, len(weighted))


@given(total=st.integers(min_value=1, max_value=1000), weight=st.integers(min_value=0, max_value=100))
def test_the_candidate_share_is_within_one_replica_of_its_weight(total: int, weight: int) -> None:
    plan = PROVIDER.replica_plan({"v7": 100 - weight, "v8": weight}, total)
    if total >= 2:
        assert abs(plan["v8"] - total * weight / 100) <= 1
    if 0 < weight < 100:
        assert plan["v7"] >= 1 and plan["v8"] >= 1


@pytest.mark.parametrize("weights", [{"v7": 90, "v8": 20}, {"v7": 101, "v8": -1}, {"v7": 50}])
def test_weights_must_add_up(weights: Mapping[str, int]) -> None:
    with pytest.raises(ValueError, match="weights must"):
        PROVIDER.replica_plan(weights, 3)


def test_total_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PROVIDER.replica_plan({"v7": 100}, 0)


def test_apportion_gives_ties_to_the_first_listed() -> None:
    assert apportion({"v7": 50, "v8": 50}, 3) == {"v7": 2, "v8": 1}
    assert apportion({"v8": 50, "v7": 50}, 3) == {"v8": 2, "v7": 1}
    assert apportion({"a": 0, "b": 0}, 5) == {"a": 0, "b": 0}
    assert replica_share({"v7": 0, "v8": 0}) == {"v7": 0, "v8": 0}


def test_nop_runs_every_weighted_version_at_full_size() -> None:
    provider = NopProvider()
    assert provider.replica_plan({"v7": 95, "v8": 5}, 3) == {"v7": 3, "v8": 3}
    assert provider.replica_plan({"v7": 100, "v8": 0}, 3) == {"v7": 3, "v8": 0}
    assert provider.effective_weights({"v7": 95, "v8": 5}, 3) == {"v7": 50, "v8": 50}


class RecordingClient:
    """A RouteClient that records calls; the replicas and nop providers must make none."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def get_route(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        self.calls.append(("get", (api_version, kind, name)))
        return None

    def create_route(self, manifest: Mapping[str, Any]) -> None:
        self.calls.append(("create", manifest))

    def apply_route(self, manifest: Mapping[str, Any]) -> None:
        self.calls.append(("apply", manifest))

    def delete_route(self, api_version: str, kind: str, name: str) -> None:
        self.calls.append(("delete", (api_version, kind, name)))


@pytest.mark.parametrize("provider", [ReplicaProvider(), NopProvider()], ids=["replicas", "none"])
def test_providers_without_route_objects_touch_nothing(provider: Provider) -> None:
    client = RecordingClient()
    target = RouteTarget(namespace="ml", rollout="fraud-scorer", service="fraud-scorer", model="fraud-scorer")

    provider.reconcile(client, target)
    provider.set_routes(client, target, {"v7": 80, "v8": 20})
    provider.finalize(client, target, "v7")
    assert client.calls == []


def test_factory_picks_by_provider() -> None:
    provider = new_provider(TrafficProvider.REPLICAS)
    assert isinstance(provider, ReplicaProvider)
    assert provider.provider == "replicas"


def test_factory_gives_the_no_op_when_no_traffic_management_is_asked_for() -> None:
    provider = new_provider(None)
    assert isinstance(provider, NopProvider)
    assert provider.provider == "none"


def test_every_provider_the_api_offers_has_an_implementation() -> None:
    for offered in TrafficProvider:
        assert new_provider(offered).provider == offered.value


def _to_percent(raw: list[int]) -> list[int]:
    """Scales arbitrary non-negative integers to whole percentages summing to 100."""
    shares = apportion({str(i): value for i, value in enumerate(raw)}, 100)
    return [shares[str(i)] for i in range(len(raw))]
