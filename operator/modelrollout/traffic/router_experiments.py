"""The experiment settings of the model router's configuration that come from the spec (`router`
provider): which of the ConfigMap's settings the operator owns, and what they say.

A setting the spec asks for (`stickiness`, from `spec.strategy.canary.stickiness`; `interleaving`,
from strategy Interleaved through `status.routes` while its experiment runs; `bandit` in mode
`weights` while a Bandit rollout splits) is
written over whatever the ConfigMap held, and its name is recorded in the ConfigMap's annotation
`modelrollout.io/owned-settings`. A setting named there that the spec no longer asks for (the
spec dropped it, the split it served ended, the rollout is being deleted) is removed. A setting
not named there is a person's: it is kept as `router.router_config` keeps it. One entry per
setting in `spec_settings` is all a new spec-driven setting needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from ..api.router_config import Bandit, Interleaving, RouterConfig, Stickiness
from ..api.v1alpha1 import StickinessSpec
from .provider import Routing

__all__ = [
    "OPERATOR_BANDIT",
    "OWNED_ANNOTATION",
    "owned_settings",
    "router_stickiness",
    "spec_settings",
    "with_settings",
]

OPERATOR_BANDIT = Bandit(mode="weights")
"""The block of a bandit rollout (`strategy.type: Bandit`) while it splits: the versions' weights
are served, every request counted as a pull of its version."""

OWNED_ANNOTATION = "modelrollout.io/owned-settings"
"""On the router's ConfigMap: the settings (`RouterConfig` fields, comma-separated) the provider
wrote from the spec; absent, every setting there is a person's."""


def router_stickiness(stickiness: StickinessSpec) -> Stickiness:
    """The router's stickiness for the spec's: a header name in lower case, as the router's own
    segments are written (HTTP header names are case-insensitive; the router reads them so)."""
    header = stickiness.header.lower() if stickiness.header is not None else None
    return Stickiness(header=header, cookie=stickiness.cookie)


def _splits(weights: Mapping[str, Any]) -> bool:
    """More than one version takes weighted traffic: only then is there a split to keep users on."""
    return sum(1 for weight in weights.values() if weight > 0) > 1


def spec_settings(routing: Routing) -> dict[str, BaseModel]:
    """The `RouterConfig` settings `routing` asks for, by field name. Stickiness only while the
    weights split: with one version left (an abort, an undo, a promotion, a deletion) the
    configuration returns to what the stable needs."""
    settings: dict[str, BaseModel] = {}
    if routing.stickiness is not None and _splits(routing.weights):
        settings["stickiness"] = router_stickiness(routing.stickiness)
    if routing.interleaving is not None:  # strategy Interleaved, while its analysis step runs
        wanted = routing.interleaving
        settings["interleaving"] = Interleaving(
            versions=(wanted.versions[0], wanted.versions[1]),
            list_field=wanted.list_field,
            length=wanted.length,
        )
    if routing.bandit and len(routing.routed_versions()) > 1:
        # the router counts pulls and takes rewards, and serves the weights the operator sets
        settings["bandit"] = OPERATOR_BANDIT
    return settings


def owned_settings(annotation: str | None) -> tuple[str, ...]:
    """The settings an `OWNED_ANNOTATION` value names that `RouterConfig` has (an unknown name,
    written by hand or by another release, owns nothing)."""
    names = (name.strip() for name in (annotation or "").split(","))
    return tuple(name for name in names if name in RouterConfig.model_fields)


def with_settings(
    config: RouterConfig, wanted: Mapping[str, BaseModel], owned: Iterable[str]
) -> tuple[RouterConfig, tuple[str, ...]]:
    """`config` with the `wanted` settings written and the `owned` ones no longer wanted reset to
    their defaults (removed), and the settings the operator owns now (sorted)."""
    update: dict[str, Any] = dict(wanted)
    for name in owned:
        if name not in wanted:
            update[name] = RouterConfig.model_fields[name].get_default(call_default_factory=True)
    if not update:
        return config, ()
    return RouterConfig.model_validate({**config.model_dump(), **update}), tuple(sorted(wanted))
