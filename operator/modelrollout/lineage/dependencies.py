"""`dependsOn` across the ModelRollouts of one namespace: waiting, cascades and cycles.

The graph's edges run from an upstream model to the models that depend on it, weighted by the
declared criticality, so influence flows along the edges. A path's criticality is the product of
its edges' criticalities; between two models the strongest path counts, because one strong link
is enough for a failure to matter downstream.

Names in `dependsOn` without a ModelRollout stay in the graph as absent nodes: they are reported
as missing, and `downstream_of` still finds the models waiting on them once they appear.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from modelrollout.api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus, Phase

__all__ = [
    "FAILED_PHASES",
    "MID_ROLLOUT_PHASES",
    "DependencyGraph",
    "RolloutNode",
    "UnknownModelError",
    "UpstreamState",
]

MID_ROLLOUT_PHASES: frozenset[Phase] = frozenset(
    {Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK}
)
"""An upstream in one of these phases serves two versions at once: downstream rollouts wait, so
their analysis never compares candidates against a moving input."""
FAILED_PHASES: frozenset[Phase] = frozenset({Phase.ROLLED_BACK, Phase.FAILED})
"""An upstream whose latest rollout ended here has failed, for cascades."""


class UnknownModelError(KeyError):
    """The model asked about has no ModelRollout among the nodes the graph was built from."""


@dataclass(frozen=True)
class RolloutNode:
    """What the dependency graph needs to know of one ModelRollout."""

    model: str
    """`spec.model`."""
    depends_on: tuple[tuple[str, float], ...] = ()
    """`(upstream model, criticality)` per `spec.dependsOn` entry."""
    phase: Phase | None = None
    """`status.phase`; None before the operator first wrote a status."""
    cascade_threshold: float = 0.5
    """`spec.cascadeThreshold`: an upstream failure cascades when its path criticality is above."""
    rollout_failed: bool | None = None
    """Overrides the failure read from `phase` when the controller knows better (None: from phase)."""

    def __post_init__(self) -> None:
        for upstream, criticality in self.depends_on:
            if not 0.0 <= criticality <= 1.0:
                raise ValueError(f"{self.model}: criticality {criticality} of {upstream!r} is outside 0..1")
        if not 0.0 <= self.cascade_threshold <= 1.0:
            raise ValueError(f"{self.model}: cascade threshold {self.cascade_threshold} is outside 0..1")

    @classmethod
    def from_api(cls, spec: ModelRolloutSpec, status: ModelRolloutStatus | None) -> RolloutNode:
        return cls(
            model=spec.model,
            depends_on=tuple((dependency.model, dependency.criticality) for dependency in spec.depends_on),
            phase=status.phase if status is not None else None,
            cascade_threshold=spec.cascade_threshold,
        )

    @property
    def mid_rollout(self) -> bool:
        return self.phase in MID_ROLLOUT_PHASES

    @property
    def failed(self) -> bool:
        if self.rollout_failed is not None:
            return self.rollout_failed
        return self.phase in FAILED_PHASES


@dataclass(frozen=True)
class UpstreamState:
    """Everything one rollout must know about the models it depends on, directly or not."""

    blocking_models: tuple[str, ...] = ()
    """Upstream models mid-rollout, nearest first: this rollout waits for them."""
    failed_models: tuple[tuple[str, float], ...] = ()
    """Failed upstream models with their path criticality, the most critical first."""
    cycle: str | None = None
    """A dependency cycle through this model, e.g. `a -> b -> a` (read: a depends on b ...)."""
    missing: tuple[str, ...] = ()
    """`dependsOn` names with no ModelRollout in the namespace, in declaration order."""


class DependencyGraph:
    """The dependsOn graph of one namespace, rebuilt from a list of ModelRollouts each time."""

    def __init__(self, nodes: Iterable[RolloutNode]) -> None:
        """Two ModelRollouts for one model (a misconfiguration the schema cannot catch) are
        merged: their edges are united with the stronger criticality, and either one mid-rollout
        or failed makes the model so."""
        self._rollouts: dict[str, list[RolloutNode]] = {}
        self._graph: Any = nx.DiGraph()
        for node in nodes:
            self._rollouts.setdefault(node.model, []).append(node)
            self._graph.add_node(node.model)
            for upstream, criticality in node.depends_on:
                known = self._graph.get_edge_data(upstream, node.model)
                strongest = max(criticality, known["criticality"]) if known else criticality
                self._graph.add_edge(upstream, node.model, criticality=strongest)

    def models(self) -> list[str]:
        """Models with a ModelRollout, in the order first given."""
        return list(self._rollouts)

    def upstream_state(self, model: str) -> UpstreamState:
        rollouts = self._require(model)
        declared = dict.fromkeys(name for node in rollouts for name, _ in node.depends_on)
        criticalities = self._strongest_paths(model, self._upstreams)
        hops = self._hops(model, self._graph.reverse(copy=False))
        present = [name for name in criticalities if name in self._rollouts]
        blocking = sorted((name for name in present if self._mid_rollout(name)), key=lambda n: (hops[n], n))
        failed = sorted(
            ((name, criticalities[name]) for name in present if self._failed(name)),
            key=lambda item: (-item[1], item[0]),
        )
        return UpstreamState(
            blocking_models=tuple(blocking),
            failed_models=tuple(failed),
            cycle=self._cycle_through(model),
            missing=tuple(name for name in declared if name not in self._rollouts),
        )

    def downstream_of(self, model: str) -> list[str]:
        """Models depending on `model` directly or not, nearest first: the rollouts to wake up
        when it changes. A model nobody declared yields nothing rather than an error."""
        if model not in self._graph:
            return []
        hops = self._hops(model, self._graph)
        return sorted((name for name in hops if name != model), key=lambda n: (hops[n], n))

    def cascade_targets(self, failed_model: str, threshold: float | None = None) -> list[tuple[str, float]]:
        """Downstream models whose path criticality from `failed_model` is above the threshold,
        the most critical first. Without `threshold`, each model's own `cascadeThreshold`."""
        if failed_model not in self._graph:
            return []
        criticalities = self._strongest_paths(failed_model, self._downstreams)
        targets = [
            (name, criticality)
            for name, criticality in criticalities.items()
            if name in self._rollouts and criticality > self._threshold(name, threshold)
        ]
        return sorted(targets, key=lambda item: (-item[1], item[0]))

    # Helpers.

    def _require(self, model: str) -> list[RolloutNode]:
        try:
            return self._rollouts[model]
        except KeyError:
            raise UnknownModelError(model) from None

    def _mid_rollout(self, model: str) -> bool:
        return any(node.mid_rollout for node in self._rollouts[model])

    def _failed(self, model: str) -> bool:
        return any(node.failed for node in self._rollouts[model])

    def _threshold(self, model: str, override: float | None) -> float:
        """The most sensitive of a model's rollouts decides."""
        if override is not None:
            return override
        return min(node.cascade_threshold for node in self._rollouts[model])

    def _upstreams(self, model: str) -> Iterable[tuple[str, float]]:
        for upstream, _, criticality in self._graph.in_edges(model, data="criticality"):
            yield str(upstream), float(criticality)

    def _downstreams(self, model: str) -> Iterable[tuple[str, float]]:
        for _, downstream, criticality in self._graph.out_edges(model, data="criticality"):
            yield str(downstream), float(criticality)

    @staticmethod
    def _strongest_paths(
        source: str, neighbours: Callable[[str], Iterable[tuple[str, float]]]
    ) -> dict[str, float]:
        """Max-product paths from `source` to every model it reaches, the source excluded.

        Criticalities are at most 1, so a product only shrinks along a path and Dijkstra's
        greedy order is exact; multiplying directly (instead of summing -log) keeps 0.9 * 0.9
        equal to 0.81 as a person computes it, and lets a criticality of 0 still mark a path.
        """
        best: dict[str, float] = {source: 1.0}
        settled: set[str] = set()
        frontier: list[tuple[float, str]] = [(-1.0, source)]
        while frontier:
            negated, model = heapq.heappop(frontier)
            if model in settled:
                continue
            settled.add(model)
            for neighbour, criticality in neighbours(model):
                strength = -negated * criticality
                if neighbour not in best or strength > best[neighbour]:
                    best[neighbour] = strength
                    heapq.heappush(frontier, (-strength, neighbour))
        best.pop(source)
        return best

    @staticmethod
    def _hops(source: str, graph: Any) -> dict[str, int]:
        lengths: dict[str, int] = nx.single_source_shortest_path_length(graph, source)
        return lengths

    def _cycle_through(self, model: str) -> str | None:
        """The shortest cycle through `model`, in dependsOn direction, ties broken by name."""
        depends_on = self._graph.reverse(copy=False)
        if depends_on.has_edge(model, model):
            return f"{model} -> {model}"
        shortest: list[str] | None = None
        for upstream in sorted(depends_on.successors(model)):
            if not nx.has_path(depends_on, upstream, model):
                continue
            path: list[str] = [model, *nx.shortest_path(depends_on, upstream, model)]
            if shortest is None or len(path) < len(shortest):
                shortest = path
        return " -> ".join(shortest) if shortest is not None else None
