"""`spec.strategy.traffic`: a provider's settings block goes with that provider and only with it,
with the CEL rule's words (the CRD carries the same rules)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import TrafficProvider, TrafficSpec


@pytest.mark.parametrize(
    ("traffic", "message"),
    [
        ({"provider": "gatewayAPI"}, "traffic.gatewayAPI is required when traffic.provider is gatewayAPI"),
        ({"provider": "istio"}, "traffic.istio is required when traffic.provider is istio"),
        ({"gatewayAPI": {"httpRoute": "r"}}, "traffic.gatewayAPI is set but traffic.provider is not gatewayAPI"),
        ({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "r"}, "istio": {"virtualService": "v"}},
         "traffic.istio is set but traffic.provider is not istio"),
    ],
)  # fmt: skip
def test_a_providers_block_goes_with_it(traffic: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrafficSpec.model_validate(traffic)


def test_the_camel_case_names_of_the_blocks() -> None:
    spec = TrafficSpec.model_validate({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}})
    assert spec.provider is TrafficProvider.GATEWAY_API and spec.gateway_api is not None
    dumped = spec.model_dump(by_alias=True, exclude_none=True)
    assert dumped == {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}
    istio = TrafficSpec.model_validate(
        {"provider": "istio", "istio": {"virtualService": "v", "destinationRule": "d"}}
    )
    assert istio.istio is not None and istio.istio.destination_rule == "d"
