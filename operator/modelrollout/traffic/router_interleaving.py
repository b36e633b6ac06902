"""The interleaving in the model router's configuration (`router` provider, strategy Interleaved):
the router's `interleaving` block, written while `Routing.interleaving` is in force.

The ConfigMap's annotation `modelrollout.io/interleaving` says the block is the provider's, so
when the experiment ends (promotion, rollback, abort, undo, deletion) the block goes, while a block
a person wrote by hand, without the annotation, is kept as long as its versions are listed, as the
provider keeps a person's other settings.
"""

from __future__ import annotations

from ..api.router_config import Interleaving, RouterConfig
from .provider import Routing

__all__ = ["INTERLEAVING_ANNOTATION", "with_interleaving"]

INTERLEAVING_ANNOTATION = "modelrollout.io/interleaving"
"""On the router's ConfigMap: "true" while its interleaving block is the provider's."""


def with_interleaving(config: RouterConfig, routing: Routing, ours_before: bool) -> tuple[RouterConfig, bool]:
    """`config` with the interleaving `routing` says, and whether the block is now the
    provider's. `ours_before`: the ConfigMap's block was the provider's (its annotation)."""
    wanted = routing.interleaving
    if wanted is None and not ours_before:
        return config, False
    block = (
        Interleaving(
            versions=(wanted.versions[0], wanted.versions[1]),
            list_field=wanted.list_field,
            length=wanted.length,
        )
        if wanted is not None
        else None
    )
    return RouterConfig.model_validate({**config.model_dump(), "interleaving": block}), wanted is not None
