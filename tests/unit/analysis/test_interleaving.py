"""The interleaving test: anytime-valid under A/A at every look, powerful on a real preference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from modelrollout.analysis import (
    InterleavingCounts,
    InterleavingSettings,
    assess_interleaving,
    interleaving_log_evidence,
)
from modelrollout.api.v1alpha1 import Verdict

ALPHA = 0.05
RUNS, LOOKS = 1000, 200


def _paths(rng: np.random.Generator, per_look: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (candidate wins, stable wins) at each look of RUNS experiments."""
    wins = rng.binomial(per_look, share, size=(RUNS, LOOKS)).cumsum(axis=1).astype(np.float64)
    return wins, per_look * np.arange(1, LOOKS + 1, dtype=np.float64) - wins


@pytest.mark.parametrize("per_look", [10, 100, 1000])
def test_a_a_with_a_look_every_interval_decides_at_most_alpha_of_the_time(per_look: int) -> None:
    wins, losses = _paths(np.random.default_rng(per_look), per_look, 0.5)
    decided = (interleaving_log_evidence(wins, losses) >= math.log(1 / ALPHA)).any(axis=1)
    assert decided.mean() <= ALPHA


def test_a_real_preference_passes_and_its_mirror_fails() -> None:
    wins, losses = _paths(np.random.default_rng(11), 100, 0.6)
    evidence = interleaving_log_evidence(wins[:, :50], losses[:, :50]) >= math.log(1 / ALPHA)
    assert evidence.any(axis=1).mean() >= 0.99, "5,000 non-tied impressions at a 60% win share"
    first = evidence.argmax(axis=1)
    rows = np.arange(RUNS)
    assert (wins[rows, first] > losses[rows, first]).mean() >= 0.99, "decided in the right direction"
    mirrored = assess_interleaving(InterleavingCounts(400, 600, 50), InterleavingSettings())
    assert mirrored.verdict is Verdict.FAIL and mirrored.high < 0.5


def test_the_confidence_sequence_covers_the_true_share_at_every_look() -> None:
    """p outside the sequence at some look is a test of p rejecting: at most alpha of the paths."""
    wins, losses = _paths(np.random.default_rng(5), 100, 0.55)
    concentrations = InterleavingSettings().concentrations
    log_mixture = interleaving_log_evidence(wins, losses, concentrations) - (wins + losses) * math.log(2)
    log_likelihood = special.xlogy(wins, 0.55) + special.xlog1py(losses, -0.55)
    assert ((log_mixture - log_likelihood) >= math.log(1 / ALPHA)).any(axis=1).mean() <= ALPHA


def test_verdict_interval_and_effect_on_hand_counts() -> None:
    result = assess_interleaving(InterleavingCounts(600, 400, 100), InterleavingSettings())
    assert result.verdict is Verdict.PASS
    assert result.win_share == 0.6 and result.non_ties == 1000 and result.impressions == 1100
    assert result.preference == pytest.approx(200 / 1100)
    assert 0.5 < result.low < 0.6 < result.high
    # The interval's ends are where the likelihood falls to alpha times the mixture's.
    log_mixture = result.log_evidence - 1000 * math.log(2)
    for edge in (result.low, result.high):
        assert special.xlogy(600, edge) + special.xlog1py(400, -edge) == pytest.approx(
            log_mixture + math.log(ALPHA), abs=1e-6
        )
    weak = assess_interleaving(InterleavingCounts(60, 40, 10), InterleavingSettings())
    assert weak.verdict is Verdict.INCONCLUSIVE and weak.low < 0.5 < weak.high


def test_nothing_yet_is_inconclusive_and_ties_alone_say_nothing() -> None:
    for counts in (InterleavingCounts(0, 0, 0), InterleavingCounts(0, 0, 10_000)):
        result = assess_interleaving(counts, InterleavingSettings())
        assert result.verdict is Verdict.INCONCLUSIVE
        assert (result.low, result.win_share, result.high, result.log_evidence) == (0.0, 0.5, 1.0, 0.0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        assess_interleaving(InterleavingCounts(-1, 0, 0), InterleavingSettings())
    with pytest.raises(ValueError, match="alpha"):
        InterleavingSettings(alpha=1.0)
    with pytest.raises(ValueError, match="concentrations"):
        InterleavingSettings(concentrations=())
