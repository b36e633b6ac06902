"""A bandit's block in the model router's configuration (`router` provider).

While a `strategy.type: Bandit` rollout runs, the router must count each version's pulls and take
rewards at `/feedback` (the counters the operator decides from), yet serve the operator's weights
rather than choose by its own sampler: the block `bandit: {mode: weights}`. It is the operator's
own: it is written while the rollout routes to more than one version and removed otherwise
(abort, rollback, promotion, deletion), whereas a `thompson` block a person wrote is theirs and
kept as it is (while no bandit rollout runs).
"""

from __future__ import annotations

from ..api.router_config import Bandit, RouterConfig
from .provider import RouteTarget, Routing

__all__ = ["OPERATOR_BANDIT", "with_bandit"]

OPERATOR_BANDIT = Bandit(mode="weights")
"""The block a bandit rollout writes: the versions' weights are served, every request counted."""


def with_bandit(config: RouterConfig, target: RouteTarget, routing: Routing | None) -> RouterConfig:
    """`config` with the operator's bandit block as `target` and `routing` ask (see the module)."""
    running = target.bandit and routing is not None and len(routing.routed_versions()) > 1
    if running:
        return config.model_copy(update={"bandit": OPERATOR_BANDIT})
    if config.bandit is not None and config.bandit.mode == OPERATOR_BANDIT.mode:
        return config.model_copy(update={"bandit": None})
    return config
