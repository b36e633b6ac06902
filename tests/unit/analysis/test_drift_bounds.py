"""Confidence-sequence bounds of drift distances: coverage under peeking, and their shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis import drift_bounds, drift_distances
from modelrollout.api.v1alpha1 import DriftStatistic

EDGES = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, math.inf)


def _normal_shares(shift: float) -> np.ndarray:
    from scipy import stats

    below = stats.norm.cdf(np.asarray(EDGES) - shift)
    return np.diff(below, prepend=0.0)


@pytest.mark.parametrize("statistic", list(DriftStatistic))
def test_bounds_cover_the_true_distance_at_every_look(statistic: DriftStatistic) -> None:
    """Seeded: 300 runs of 60 looks; the band must hold the truth at all looks in >= 95% of runs."""
    generator = np.random.default_rng(11)
    stable_shares, candidate_shares = _normal_shares(0.0), _normal_shares(0.5)
    truth = float(drift_distances(statistic, EDGES, stable_shares[None], candidate_shares[None])[0])
    per_look_stable = generator.multinomial(40, stable_shares, size=(300, 60))
    per_look_candidate = generator.multinomial(40, candidate_shares, size=(300, 60))
    stable = np.cumsum(per_look_stable, axis=1).astype(np.float64)
    candidate = np.cumsum(per_look_candidate, axis=1).astype(np.float64)
    lower, upper = drift_bounds(statistic, EDGES, stable, candidate, 0.05)
    missed = ((lower > truth + 1e-12) | (upper < truth - 1e-12)).any(axis=1)
    assert missed.mean() <= 0.05
    assert (lower <= upper).all()


def test_bounds_narrow_around_the_distance_with_more_data() -> None:
    stable_shares, candidate_shares = _normal_shares(0.0), _normal_shares(1.0)
    truth = float(drift_distances(DriftStatistic.PSI, EDGES, stable_shares[None], candidate_shares[None])[0])
    widths = []
    for total in (1_000, 100_000, 10_000_000):
        lower, upper = drift_bounds(
            DriftStatistic.PSI, EDGES, stable_shares * total, candidate_shares * total, 0.05
        )
        assert lower <= truth <= upper
        widths.append(float(upper - lower))
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.05 * truth


def test_empty_histogram_has_no_bounds() -> None:
    lower, upper = drift_bounds(DriftStatistic.KS, EDGES, np.zeros(len(EDGES)), np.ones(len(EDGES)), 0.05)
    assert math.isnan(float(lower)) and math.isnan(float(upper))
