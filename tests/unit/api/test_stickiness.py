"""`spec.strategy.canary.stickiness`: one of header and cookie, with the router provider only (the
refusals themselves are cases of `tests/fixtures/specs.INVALID`, checked by pydantic and by the
apiserver)."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import ModelRolloutSpec, StickinessSpec

from ...fixtures.specs import BASE_SPEC, merge_patch, sticky


def parsed(patch: dict[str, Any]) -> ModelRolloutSpec:
    return ModelRolloutSpec.model_validate(merge_patch(BASE_SPEC, patch))


def test_a_canary_through_the_router_is_sticky_by_header_or_cookie() -> None:
    by_header = parsed(sticky({"header": "x-user-id"})).strategy.canary
    assert by_header is not None and by_header.stickiness == StickinessSpec(header="x-user-id")
    by_cookie = parsed(sticky({"cookie": "session"})).strategy.canary
    assert by_cookie is not None and by_cookie.stickiness == StickinessSpec(cookie="session")


def test_a_canary_is_not_sticky_unless_asked() -> None:
    canary = parsed({"strategy": {"traffic": {"provider": "router"}}}).strategy.canary
    assert canary is not None and canary.stickiness is None
