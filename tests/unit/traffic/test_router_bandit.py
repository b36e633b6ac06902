"""A bandit rollout through the `router` provider: the ConfigMap carries `bandit: {mode:
weights}` while the rollout routes to both versions (the router counts pulls and takes rewards
but serves the weights), and loses it when traffic returns to the stable; a person's `thompson`
block is theirs while no bandit runs."""

from __future__ import annotations

import json

from modelrollout.api.router_config import Bandit
from modelrollout.traffic import Routing

from .test_router_provider import PROVIDER, TARGET, RouteStore, config, user_service


def bandit(weights: dict[str, float]) -> Routing:
    """The routing of a bandit rollout (`strategy.type: Bandit`) at `weights`."""
    return Routing(weights, bandit=True)


def test_a_bandit_rollout_writes_the_weights_mode_while_both_versions_take_traffic() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, bandit({"v1": 80, "v2": 20}))
    written = config(store)
    assert written.bandit == Bandit(mode="weights")
    assert [(v.name, v.weight) for v in written.versions] == [("v1", 80.0), ("v2", 20.0)]
    PROVIDER.set_routes(store, TARGET, bandit({"v1": 40, "v2": 60}))
    assert [(v.name, v.weight) for v in config(store).versions] == [("v1", 40.0), ("v2", 60.0)]
    assert config(store).bandit == Bandit(mode="weights")

    # abort / rollback: everything back to the stable, and the bandit block with it
    PROVIDER.set_routes(store, TARGET, bandit({"v1": 100, "v2": 0}))
    back = config(store)
    assert [(v.name, v.weight) for v in back.versions] == [("v1", 100.0)]
    assert back.bandit is None


def test_finalize_removes_the_operator_s_block() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, bandit({"v1": 50, "v2": 50}))
    PROVIDER.finalize(store, TARGET, "v1")
    assert config(store).bandit is None


def test_a_person_s_thompson_block_is_kept_outside_a_bandit_rollout() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 100})
    stored = store.get("ConfigMap", "fraud-router")
    payload = json.loads(stored["data"]["router.json"])
    payload["bandit"] = {"minWeight": {"v1": 10}}
    stored["data"]["router.json"] = json.dumps(payload)
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    assert config(store).bandit == Bandit(min_weight={"v1": 10.0})
