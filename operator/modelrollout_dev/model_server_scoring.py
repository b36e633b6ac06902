"""The reference model's arithmetic: a logistic scorer and a ranker, both numpy, both seeded.

Nothing is downloaded or trained: weights come from a seed, so two servers started with the same
seed answer identically and a version with another seed answers differently in a controlled way.
The ranker's item and user embeddings are shared by every version (seed-independent), and each
version adds its own seeded perturbation, so two versions' rankings overlap without being equal:
what interleaving needs to have something to compare.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["LogisticScorer", "Ranker", "version_seed"]

_SHARED_SEED = 20_251_206
"""Seeds what every version shares: the ranker's item embeddings."""


def version_seed(version: str) -> int:
    """A stable seed for a version string (Python's `hash` is salted per process; crc32 is not)."""
    return zlib.crc32(version.encode())


def _sigmoid(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-logits))


@dataclass
class LogisticScorer:
    """`sigmoid(w . x + b + shift)` per instance.

    Instances may have any length: the weight vector is repeated (or cut) to fit, so a client
    need not know the feature count, and the same instance always gets the same score.
    """

    seed: int
    features: int = 8
    shift: float = 0.0
    """Added to every logit: moves the score distribution, which the drift analysis should see."""
    weights: npt.NDArray[np.float64] = field(init=False)
    bias: float = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.weights = rng.normal(0.0, 1.0 / np.sqrt(self.features), self.features)
        self.bias = float(rng.normal(0.0, 0.25))

    def score(self, instances: Sequence[Sequence[float]]) -> list[float]:
        """ValueError names the instance that is not a flat list of numbers."""
        scores: list[float] = []
        for index, instance in enumerate(instances):
            vector = _as_vector(instance, index)
            weights = np.resize(self.weights, vector.shape[0])
            logit = float(vector @ weights) + self.bias + self.shift
            scores.append(float(_sigmoid(np.array([logit]))[0]))
        return scores


def _as_vector(instance: object, index: int) -> npt.NDArray[np.float64]:
    if not isinstance(instance, list | tuple) or not instance:
        raise ValueError(f"instance {index} is not a non-empty list of numbers")
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in instance):
        raise ValueError(f"instance {index} holds something other than numbers")
    vector = np.asarray(instance, dtype=np.float64)
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"instance {index} holds a non-finite number")
    return vector


@dataclass
class Ranker:
    """Ranks item ids for a user: shared embeddings plus a per-version perturbation.

    Deterministic for (user, candidate items, k, version seed): the user's embedding is seeded
    by the user id, never by a random draw per request.
    """

    seed: int
    items: int = 100
    dimensions: int = 8
    perturbation: float = 0.5
    """How far a version's item embeddings move from the shared ones (0 gives every version
    the same ranking)."""
    embeddings: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        shared = np.random.default_rng(_SHARED_SEED).normal(size=(self.items, self.dimensions))
        own = np.random.default_rng(self.seed).normal(size=(self.items, self.dimensions))
        self.embeddings = shared + self.perturbation * own

    def item_id(self, index: int) -> str:
        return f"item-{index}"

    def rank(self, user: str, k: int, candidates: Sequence[str] | None = None) -> list[str]:
        """The top `k` of `candidates` (every item when None). ValueError names an unknown item."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if candidates is None:
            indices = np.arange(self.items)
        else:
            indices = np.array([self._index(item) for item in candidates], dtype=np.int64)
        user_vector = np.random.default_rng(version_seed(user)).normal(size=self.dimensions)
        scores = self.embeddings[indices] @ user_vector
        order = np.argsort(-scores, kind="stable")[:k]
        return [self.item_id(int(indices[position])) for position in order]

    def _index(self, item: str) -> int:
        prefix = "item-"
        number = item[len(prefix) :] if isinstance(item, str) and item.startswith(prefix) else ""
        if not number.isdigit() or int(number) >= self.items:
            raise ValueError(f"unknown item {item!r}: items are item-0 .. item-{self.items - 1}")
        return int(number)
