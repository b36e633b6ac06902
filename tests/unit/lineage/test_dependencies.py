"""dependsOn graph: waiting on upstream rollouts, path criticality, cascades, cycles, missing models."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus, Phase
from modelrollout.lineage import DependencyGraph, RolloutNode, UnknownModelError, UpstreamState


def node(model: str, *depends_on: tuple[str, float], phase: Phase | None = Phase.PROMOTED) -> RolloutNode:
    return RolloutNode(model=model, depends_on=depends_on, phase=phase)


class TestChain:
    """features <- encoder <- scorer: scorer depends on encoder (0.8), encoder on features (0.5)."""

    @staticmethod
    def graph(features_phase: Phase) -> DependencyGraph:
        return DependencyGraph(
            [
                node("scorer", ("encoder", 0.8)),
                node("encoder", ("features", 0.5)),
                node("features", phase=features_phase),
            ]
        )

    def test_a_mid_rollout_upstream_blocks_every_model_below_it(self) -> None:
        for phase in (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK):
            graph = self.graph(phase)
            assert graph.upstream_state("scorer").blocking_models == ("features",)
            assert graph.upstream_state("encoder").blocking_models == ("features",)
            assert graph.upstream_state("features") == UpstreamState()

    def test_finished_or_pending_upstreams_do_not_block(self) -> None:
        for phase in (Phase.PENDING, Phase.PROMOTED):
            assert self.graph(phase).upstream_state("scorer") == UpstreamState()

    def test_a_failed_upstream_carries_the_product_of_criticalities(self) -> None:
        for phase in (Phase.ROLLED_BACK, Phase.FAILED):
            graph = self.graph(phase)
            assert graph.upstream_state("scorer").failed_models == (("features", 0.5 * 0.8),)
            assert graph.upstream_state("encoder").failed_models == (("features", 0.5),)
            assert graph.upstream_state("scorer").blocking_models == ()

    def test_downstream_models_nearest_first(self) -> None:
        graph = self.graph(Phase.PROMOTED)
        assert graph.downstream_of("features") == ["encoder", "scorer"]
        assert graph.downstream_of("encoder") == ["scorer"]
        assert graph.downstream_of("scorer") == []
        assert graph.downstream_of("nobody-declared-this") == []

    def test_cascade_targets_pass_the_threshold_strictly(self) -> None:
        graph = self.graph(Phase.ROLLED_BACK)
        assert graph.cascade_targets("features", threshold=0.3) == [("encoder", 0.5), ("scorer", 0.5 * 0.8)]
        assert graph.cascade_targets("features", threshold=0.45) == [("encoder", 0.5)]
        assert graph.cascade_targets("features", threshold=0.5) == []
        assert graph.cascade_targets("encoder", threshold=0.0) == [("scorer", 0.8)]

    def test_without_a_threshold_each_model_uses_its_own(self) -> None:
        graph = DependencyGraph(
            [
                RolloutNode("scorer", (("encoder", 0.8),), Phase.PROMOTED, cascade_threshold=0.9),
                RolloutNode("ranker", (("encoder", 0.8),), Phase.PROMOTED, cascade_threshold=0.1),
                RolloutNode("encoder", (), Phase.ROLLED_BACK),
            ]
        )
        assert graph.cascade_targets("encoder") == [("ranker", 0.8)]


class TestDiamond:
    """ranker depends on encoder (0.9) and on cache (0.5); both depend on features (0.9 and 1.0)."""

    @staticmethod
    def graph(features_phase: Phase) -> DependencyGraph:
        return DependencyGraph(
            [
                node("ranker", ("encoder", 0.9), ("cache", 0.5)),
                node("encoder", ("features", 0.9)),
                node("cache", ("features", 1.0)),
                node("features", phase=features_phase),
            ]
        )

    def test_the_strongest_path_decides_the_criticality(self) -> None:
        state = self.graph(Phase.FAILED).upstream_state("ranker")
        assert state.failed_models == (("features", 0.9 * 0.9),)

    def test_cascade_reaches_every_model_once(self) -> None:
        targets = self.graph(Phase.FAILED).cascade_targets("features", threshold=0.0)
        assert targets == [("cache", 1.0), ("encoder", 0.9), ("ranker", 0.9 * 0.9)]

    def test_a_blocking_upstream_is_listed_once(self) -> None:
        graph = self.graph(Phase.PROGRESSING)
        assert graph.upstream_state("ranker").blocking_models == ("features",)
        assert graph.downstream_of("features") == ["cache", "encoder", "ranker"]

    def test_several_failed_upstreams_most_critical_first(self) -> None:
        graph = DependencyGraph(
            [
                node("ranker", ("encoder", 0.6), ("cache", 0.7)),
                node("encoder", phase=Phase.ROLLED_BACK),
                node("cache", phase=Phase.FAILED),
            ]
        )
        assert graph.upstream_state("ranker").failed_models == (("cache", 0.7), ("encoder", 0.6))

    def test_a_zero_criticality_path_is_reported_but_never_cascades(self) -> None:
        graph = DependencyGraph([node("ranker", ("encoder", 0.0)), node("encoder", phase=Phase.FAILED)])
        assert graph.upstream_state("ranker").failed_models == (("encoder", 0.0),)
        assert graph.cascade_targets("encoder", threshold=0.0) == []


class TestCycles:
    def test_a_two_model_cycle_is_described_from_each_side(self) -> None:
        graph = DependencyGraph([node("a", ("b", 1.0)), node("b", ("a", 1.0)), node("c", ("a", 1.0))])
        assert graph.upstream_state("a").cycle == "a -> b -> a"
        assert graph.upstream_state("b").cycle == "b -> a -> b"
        assert graph.upstream_state("c").cycle is None

    def test_a_self_dependency_is_a_cycle(self) -> None:
        graph = DependencyGraph([node("scorer", ("scorer", 1.0))])
        state = graph.upstream_state("scorer")
        assert state.cycle == "scorer -> scorer"
        assert state.blocking_models == ()
        assert state.missing == ()

    def test_the_shortest_cycle_is_reported(self) -> None:
        graph = DependencyGraph(
            [
                node("a", ("b", 1.0), ("x", 1.0)),
                node("b", ("c", 1.0)),
                node("c", ("a", 1.0)),
                node("x", ("a", 1.0)),
            ]
        )
        assert graph.upstream_state("a").cycle == "a -> x -> a"

    def test_a_cycle_does_not_stop_the_other_answers(self) -> None:
        graph = DependencyGraph(
            [node("a", ("b", 0.5)), node("b", ("a", 0.5), ("up", 1.0)), node("up", phase=Phase.PROGRESSING)]
        )
        state = graph.upstream_state("a")
        assert (state.cycle, state.blocking_models) == ("a -> b -> a", ("up",))
        assert graph.downstream_of("a") == ["b"]


class TestMissingAndUnknown:
    def test_missing_upstreams_in_declaration_order(self) -> None:
        graph = DependencyGraph(
            [node("scorer", ("zeta", 1.0), ("encoder", 0.5), ("alpha", 1.0)), node("encoder")]
        )
        assert graph.upstream_state("scorer").missing == ("zeta", "alpha")

    def test_models_waiting_on_a_missing_upstream_are_woken_when_it_appears(self) -> None:
        graph = DependencyGraph([node("scorer", ("encoder", 1.0))])
        assert graph.downstream_of("encoder") == ["scorer"]

    def test_a_model_without_a_rollout_cannot_be_asked_about(self) -> None:
        with pytest.raises(UnknownModelError):
            DependencyGraph([node("scorer")]).upstream_state("encoder")

    def test_criticality_and_threshold_are_checked(self) -> None:
        with pytest.raises(ValueError, match="criticality"):
            RolloutNode("scorer", (("encoder", 1.5),))
        with pytest.raises(ValueError, match="threshold"):
            RolloutNode("scorer", cascade_threshold=-0.1)


class TestNodes:
    def test_built_from_the_api_objects(self) -> None:
        spec = ModelRolloutSpec.model_validate(
            {
                "model": "scorer",
                "service": "scorer",
                "stable": {"version": "v1"},
                "dependsOn": [{"model": "encoder", "criticality": 0.9}, {"model": "features"}],
                "cascadeThreshold": 0.7,
            }
        )
        built = RolloutNode.from_api(spec, ModelRolloutStatus(phase=Phase.PAUSED))
        assert built == RolloutNode("scorer", (("encoder", 0.9), ("features", 1.0)), Phase.PAUSED, 0.7)
        assert built.mid_rollout
        assert RolloutNode.from_api(spec, None).phase is None

    def test_the_controller_can_override_the_failure_read_from_the_phase(self) -> None:
        stale_failure = RolloutNode("encoder", phase=Phase.ROLLED_BACK, rollout_failed=False)
        graph = DependencyGraph([node("scorer", ("encoder", 1.0)), stale_failure])
        assert graph.upstream_state("scorer").failed_models == ()

    def test_two_rollouts_of_one_model_are_merged(self) -> None:
        graph = DependencyGraph(
            [
                node("scorer", ("encoder", 0.3)),
                node("scorer", ("encoder", 0.6)),
                node("encoder", phase=Phase.PROMOTED),
                node("encoder", phase=Phase.ROLLED_BACK),
            ]
        )
        assert graph.models() == ["scorer", "encoder"]
        assert graph.upstream_state("scorer").failed_models == (("encoder", 0.6),)


# Property test: the search agrees with brute force over every simple path.

_MODELS = [f"m{n}" for n in range(6)]


@st.composite
def _namespaces(draw: st.DrawFn) -> list[RolloutNode]:
    criticalities = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    nodes = []
    for model in _MODELS:
        upstreams = draw(st.lists(st.sampled_from(_MODELS), unique=True, max_size=3))
        depends_on = tuple((upstream, draw(criticalities)) for upstream in upstreams)
        nodes.append(RolloutNode(model, depends_on, draw(st.sampled_from([Phase.PROMOTED, Phase.FAILED]))))
    return nodes


def _brute_force_criticality(nodes: list[RolloutNode], upstream: str, model: str) -> float:
    influence = nx.DiGraph()
    for each in nodes:
        for name, criticality in each.depends_on:
            influence.add_edge(name, each.model, criticality=criticality)
    products: list[float] = [
        math.prod(influence.edges[a, b]["criticality"] for a, b in itertools.pairwise(path))
        for path in nx.all_simple_paths(influence, upstream, model)
    ]
    return max(products)


@settings(max_examples=150, deadline=None)
@given(_namespaces())
def test_path_criticality_is_the_best_simple_path(nodes: list[RolloutNode]) -> None:
    graph = DependencyGraph(nodes)
    for model in _MODELS:
        for upstream, criticality in graph.upstream_state(model).failed_models:
            assert upstream != model
            assert criticality == pytest.approx(_brute_force_criticality(nodes, upstream, model), abs=1e-12)
        failed = {name for name, _ in graph.upstream_state(model).failed_models}
        reachable = {name for name in _MODELS if name != model and model in graph.downstream_of(name)}
        assert failed == {name for name in reachable if name in {n.model for n in nodes if n.failed}}
