"""Weights to 0.1% through every provider: gatewayAPI and router exact (995/5 out of 1000, 99.5 and
0.5 in the ConfigMap), istio the nearest whole-percent split that still sends the candidate 1%,
replicas the replica ratio; and whatever the weights, every split sums to exactly 100."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import ModelRolloutStatus
from modelrollout.traffic import (
    GatewayAPIProvider,
    IstioProvider,
    ReplicaProvider,
    RouterProvider,
    apportion,
    rounded_up_plan,
)
from modelrollout.traffic.gateway_api import backend_weights
from modelrollout.traffic.istio import whole_percents

from . import test_gateway_api as gateway
from . import test_istio as istio
from . import test_router_provider as router

HALF = Fraction(1, 2)
LOW = {"v1": 100 - HALF, "v2": HALF}
HIGH = {"v1": HALF, "v2": 100 - HALF}
HOST = "fraud-scorer.ml.svc.cluster.local"


def test_plans_at_half_a_percent() -> None:
    assert apportion(LOW, 1000) == {"v1": 995, "v2": 5}
    assert apportion(LOW, 4) == {"v1": 4, "v2": 0}
    assert ReplicaProvider().replica_plan(LOW, 4) == {"v1": 3, "v2": 1}, "a weighted version keeps a pod"
    assert ReplicaProvider().replica_plan(HIGH, 4) == {"v1": 1, "v2": 3}
    assert rounded_up_plan(LOW, 4) == {"v1": 4, "v2": 1}
    assert rounded_up_plan(HIGH, 4) == {"v1": 1, "v2": 4}
    assert rounded_up_plan({"v1": Fraction(999, 10), "v2": Fraction(1, 10)}, 1000) == {"v1": 999, "v2": 1}


@pytest.mark.parametrize(("weights", "expected"), [(LOW, [995, 5]), (HIGH, [5, 995])])
def test_gateway_api_backend_refs_are_exact_in_thousandths(
    weights: dict[str, Fraction], expected: list[int]
) -> None:
    routes = gateway.store()
    gateway.PROVIDER.set_routes(routes, gateway.TARGET, weights)
    assert gateway.refs(routes) == [("fraud-v1", expected[0]), ("fraud-v2", expected[1])]
    assert GatewayAPIProvider().effective_weights(weights, 3) == weights


@pytest.mark.parametrize(("weights", "expected"), [(LOW, [99, 1]), (HIGH, [1, 99])])
def test_istio_serves_the_nearest_whole_percents_keeping_every_weighted_version(
    weights: dict[str, Fraction], expected: list[int]
) -> None:
    routes = istio.store()
    istio.PROVIDER.set_routes(routes, istio.TARGET, weights)
    assert istio.routes_of(routes) == [(HOST, "v1", expected[0]), (HOST, "v2", expected[1])]
    assert IstioProvider().effective_weights(weights, 3) == {"v1": expected[0], "v2": expected[1]}
    assert IstioProvider().effective_weights({"v1": 75, "v2": 25}, 3) == {"v1": 75, "v2": 25}
    assert whole_percents({"v1": Fraction(873, 10), "v2": Fraction(127, 10)}) == {"v1": 87, "v2": 13}
    assert "whole percents" in IstioProvider().approximation(3)


@pytest.mark.parametrize(("weights", "expected"), [(LOW, [99.5, 0.5]), (HIGH, [0.5, 99.5])])
def test_the_router_config_map_carries_the_exact_weights(
    weights: dict[str, Fraction], expected: list[float]
) -> None:
    routes = router.RouteStore(router.user_service())
    router.PROVIDER.set_routes(routes, router.TARGET, weights)
    assert [(v.name, v.weight) for v in router.config(routes).versions] == [
        ("v1", expected[0]), ("v2", expected[1]),
    ]  # fmt: skip
    assert RouterProvider().effective_weights(weights, 3) == weights


@given(tenths=st.integers(min_value=0, max_value=1000), total=st.integers(min_value=1, max_value=50))
def test_every_split_sums_to_exactly_100(tenths: int, total: int) -> None:
    candidate = Fraction(tenths, 10)
    weights = {"v1": 100 - candidate, "v2": candidate}
    status = ModelRolloutStatus.model_validate({"weights": weights, "candidateWeight": candidate})
    read_back = ModelRolloutStatus.model_validate_json(status.model_dump_json(by_alias=True))
    assert sum(read_back.weights.values()) == 100 and read_back.candidate_weight == candidate
    assert backend_weights(read_back.weights) == {"v1": 1000 - tenths, "v2": tenths}
    assert sum(whole_percents(read_back.weights).values()) == 100
    assert sum(ReplicaProvider().effective_weights(read_back.weights, total).values()) == 100
    assert sum(IstioProvider().replica_plan(read_back.weights, total).values()) >= total
