"""A bandit through the model router on the real control plane: real model servers on the kwok
pods' IPs, the router in front of them, users whose requests go through the router and whose
rewards are POSTed to its `/feedback` (the candidate converts at 60%, the stable at 20%), a real
Prometheus scraping the router, and the operator moving the ConfigMap's weights every interval
until the candidate is best with probability 0.95 and promoted; an abort puts the ConfigMap back
to the stable."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from modelrollout.api.router_config import RouterConfig
from modelrollout_dev import PrometheusServer
from modelrollout_dev.pod_network import PodNetwork
from modelrollout_dev.tools import tail

from ..fixtures.model_servers import RoutedModel
from .given import Given
from .processes import Sampler
from .specs import base_spec
from .test_router import config_map

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

REWARD_RATES = {"v1": 0.2, "v2": 0.6, "v3": 0.6}
"""How often a user served by each version converts (the reward POSTed to the router)."""
BANDIT = {"stableFloor": 10, "maxStep": 20, "minRewards": 50, "stopProbability": 0.95}


class Users:
    """Users calling the model through the router, each answer rewarded at its version's rate by
    a POST to `/feedback` naming the request; seeded, from a thread."""

    def __init__(self, url: str, model: str, rate: float) -> None:
        self.url, self.model, self.pause = url, model, 1.0 / rate
        self.served: Counter[str] = Counter()
        self.rewarded: Counter[tuple[str, int]] = Counter()
        self.refused: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="users", daemon=True)

    def __enter__(self) -> Users:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(
            f"{self.url}{path}", json.dumps(body).encode(), {"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def _run(self) -> None:
        rng = random.Random(27)
        while not self._stop.wait(self.pause):
            try:
                status, headers = self._post(f"/v1/models/{self.model}:predict", {"instances": [[0.5, 1.5]]})
                version = headers.get("x-modelrollout-version", "")
                if status != 200 or version not in REWARD_RATES:
                    self.refused[status] += 1
                    continue
                self.served[version] += 1
                reward = int(rng.random() < REWARD_RATES[version])
                status, _ = self._post("/feedback", {"requestId": headers["x-request-id"], "reward": reward})
                if status == 200:
                    self.rewarded[version, reward] += 1
                else:  # 409 while no bandit is configured (before and after the bandit)
                    self.refused[status] += 1
            except OSError:
                self.refused[0] += 1


@pytest.fixture
def routed(given: Given, pod_network: PodNetwork, tmp_path: Path) -> Iterator[RoutedModel]:
    env = given.env
    with RoutedModel(env.cluster, env.namespace, env.name, env.model, pod_network, tmp_path) as model:
        yield model


def configured(env: Any) -> tuple[dict[str, float], str | None]:
    """The ConfigMap's weights and its bandit mode (None: no bandit block)."""
    config: RouterConfig = config_map(env)[0]
    weights = {version.name: version.weight for version in config.versions}
    return weights, config.bandit.mode if config.bandit is not None else None


def test_the_bandit_moves_traffic_to_the_better_candidate_and_promotes_it_and_an_abort_restores_the_stable(
    given: Given, routed: RoutedModel
) -> None:
    env = given.env
    # given a stable v1 served through the router, at one replica per version
    when = given.routed_stable(routed, {"type": "Bandit", "bandit": BANDIT})
    env.prometheus = PrometheusServer(targets=[routed.metrics_target]).start()
    analysis = given.analysis([], interval="5s", maxDuration="60s")

    with Users(routed.url, env.model, rate=30) as users, Sampler(lambda: configured(env), 0.25) as sampler:
        # when the candidate v2 is rolled out as a bandit and users reward it more often
        candidate = base_spec(env, steps=[])["candidate"]
        when.patch_spec({"candidate": candidate, "analysis": analysis})
        when.wait_for_status(
            lambda s: s.get("stableVersion") == "v2" and s.get("phase") == "Promoted",
            "v2 promoted",
            timeout=90,
        )
        routed.wait(lambda: configured(env) == ({"v2": 100.0}, None), "the ConfigMap at v2 100%, no bandit")

    # then the ConfigMap served the bandit's splits in weights mode, starting at maxStep and moving
    # towards the candidate interval by interval, the stable never below its floor
    splits = [weights for weights, mode in sampler.samples if mode == "weights"]
    assert splits, sampler.samples
    candidate_weights = [weights.get("v2", 0.0) for weights in splits]
    moves = [w for i, w in enumerate(candidate_weights) if i == 0 or w != candidate_weights[i - 1]]
    assert moves[0] == 20.0 and len(moves) >= 2, f"the weights moved: {moves}"
    assert all(b > a and b - a <= 20 for a, b in pairwise(moves)), moves
    assert all(weights["v1"] >= 10 for weights in splits), splits
    assert all(mode in (None, "weights") for _, mode in sampler.samples)
    # and it stopped on the candidate, best with probability >= 0.95 after 50 rewards each
    status = env.status()
    bandit = status["bandit"]
    assert (bandit["decision"], bandit["winner"], bandit["candidate"]) == ("CandidateBest", "v2", "v2"), (
        bandit
    )
    arms = {arm["version"]: arm for arm in bandit["arms"]}
    assert arms["v2"]["probabilityBest"] >= 0.95 and arms["v2"]["mean"] > arms["v1"]["mean"], arms
    assert min(arm["rewards"] for arm in arms.values()) >= 50, arms
    assert bandit["intervals"] >= 2 and bandit["expectedRegret"] > 0, bandit
    # counted by the router from the users' feedback (Prometheus' increase() extrapolates a little)
    for version in ("v1", "v2"):
        received = users.rewarded[version, 0] + users.rewarded[version, 1]
        assert 0 < arms[version]["rewards"] <= 1.2 * received, (version, arms, users.rewarded)
    when.then().phase("Promoted").stable_version("v2").event_message("AnalysisPassed", "bandit stopped", "v2")
    print(f"bandit splits of v2: {moves}; served {dict(users.served)}; arms {arms}")

    # when another candidate v3 runs a bandit that cannot stop yet, and a person aborts it
    with Users(routed.url, env.model, rate=20):
        v3 = base_spec(env, steps=[], candidate="v3")["candidate"]
        when.patch_spec({"candidate": v3, "strategy": {"bandit": {**BANDIT, "minRewards": 100_000}}})
        routed.wait(lambda: configured(env) == ({"v2": 80.0, "v3": 20.0}, "weights"), "the bandit of v3", 60)
        when.action("abort").wait_for_phase("RolledBack", timeout=60)
        # then the ConfigMap is the stable's alone again, without the bandit block
        routed.wait(lambda: configured(env) == ({"v2": 100.0}, None), "the ConfigMap back at v2 100%")
    aborted = env.status()["bandit"]
    assert (aborted["candidate"], aborted["decision"]) == ("v3", "Aborted"), aborted
    assert routed.ready(), tail(routed.log)
