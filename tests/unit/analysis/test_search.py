"""The searches that replaced bisection: the same points as bisection, or the same root, cheaper.

`tree_bisect` must be bisection to the last bit for any predicate (the equivalence pin relies on
it), and `newton_root` must find the rates the risk-difference test needs at least as precisely
as the 40 bisection steps it replaced.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis.search import geometric_middle, newton_root, tree_bisect
from modelrollout.analysis.sequential.risk_difference import (
    STABLE_RATE_GRID,
    least_favourable_rate,
    restricted_rate,
)


def _plain_bisection(moves_up, low, high, steps, geometric=False):  # type: ignore[no-untyped-def]
    low, high = np.array(low, dtype=float), np.array(high, dtype=float)
    for _ in range(steps):
        middle = np.sqrt(low * high) if geometric else (low + high) / 2
        up = moves_up(middle)
        low, high = np.where(up, middle, low), np.where(up, high, middle)
    return low, high


@pytest.mark.parametrize("shape", [(4, 5), (2,), ()])
@pytest.mark.parametrize("levels", [1, 3, 4, 6])
@pytest.mark.parametrize("steps", [1, 7, 24, 48])
def test_tree_bisect_visits_exactly_the_points_bisection_visits(
    levels: int, steps: int, shape: tuple[int, ...]
) -> None:
    """Both walks: numpy's for many searches, Python floats' for a few (shapes (2,) and ())."""
    rng = np.random.default_rng(levels * 100 + steps)
    targets = rng.uniform(-3, 3, shape)

    # A predicate that is not monotone either: the path, not a threshold, must be followed.
    def moves_up(points: np.ndarray) -> np.ndarray:
        return (points < targets) ^ (np.sin(1e3 * points) > 0.95)

    expected = _plain_bisection(moves_up, np.full(shape, -4.0), np.full(shape, 4.0), steps)
    found = tree_bisect(moves_up, np.full(shape, -4.0), np.full(shape, 4.0), steps, levels=levels)
    assert np.array_equal(found[0], expected[0]) and np.array_equal(found[1], expected[1])


def test_tree_bisect_with_geometric_middles_and_a_scalar_bracket() -> None:
    def moves_up(points: np.ndarray) -> np.ndarray:
        return np.asarray(points < 0.0123)

    expected = _plain_bisection(moves_up, 1e-9, 1e3, 80, geometric=True)
    found = tree_bisect(moves_up, np.float64(1e-9), np.float64(1e3), 80, levels=6, middle_of=geometric_middle)
    assert float(found[0]) == float(expected[0]) and float(found[1]) == float(expected[1])


def test_newton_root_finds_a_root_an_end_or_the_other_end() -> None:
    def value_and_slope(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(targets - p**3), np.asarray(-3 * p**2)

    targets = np.asarray([0.001, 0.5, -1.0, 2.0])
    root = newton_root(value_and_slope, np.zeros(4), np.ones(4), np.full(4, 0.5))
    assert root[0] == pytest.approx(0.1, rel=1e-13)
    assert root[1] == pytest.approx(0.5 ** (1 / 3), rel=1e-13)
    assert root[2] == 0.0 and root[3] == 1.0


def _bisected(function, low, high, steps=200):  # type: ignore[no-untyped-def]
    low, high = np.array(low, dtype=float), np.array(high, dtype=float)
    for _ in range(steps):
        middle = (low + high) / 2
        above = function(middle) > 0
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return (low + high) / 2


def test_the_rates_of_the_risk_difference_test_are_found_to_machine_precision() -> None:
    rng = np.random.default_rng(24)
    size = 4000
    n_s, n_c = rng.integers(1, 50_000, size).astype(float), rng.integers(1, 5_000, size).astype(float)
    x_s = rng.binomial(n_s.astype(int), rng.choice([0.0, 1e-3, 0.01, 0.2], size)).astype(float)
    x_c = rng.binomial(n_c.astype(int), rng.choice([0.0, 1e-3, 0.02, 0.3], size)).astype(float)
    margin = rng.choice([-0.01, 0.0, 0.005, 0.05], size)
    low, high = np.maximum(0.0, -margin) + 1e-12, np.minimum(1.0, 1 - margin) - 1e-12

    def score(p: np.ndarray) -> np.ndarray:
        return x_s / p - (n_s - x_s) / (1 - p) + x_c / (p + margin) - (n_c - x_c) / (1 - p - margin)

    found = restricted_rate(x_s, n_s, x_c, n_c, margin)
    reference = _bisected(score, low, high)
    assert np.allclose(found, reference, rtol=1e-11, atol=1e-15)

    q_s = rng.choice(np.asarray(STABLE_RATE_GRID), size)
    q_c = np.clip(q_s + margin + rng.choice([-1, 1], size) * rng.uniform(1e-4, 0.4, size), 1e-9, 1 - 1e-9)

    def condition(p: np.ndarray) -> np.ndarray:
        shifted = p + margin
        return n_s * (q_s - p) / (p * (1 - p)) + n_c * (q_c - shifted) / (shifted * (1 - shifted))

    lf_low = np.maximum(np.minimum(q_s, q_c - margin), low)
    lf_high = np.minimum(np.maximum(q_s, q_c - margin), high)
    projection = least_favourable_rate(q_s, q_c, n_s, n_c, margin)
    assert np.allclose(projection, _bisected(condition, lf_low, lf_high), rtol=1e-11, atol=1e-15)
    assert not math.isnan(float(projection.sum()))
