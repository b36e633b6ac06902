"""P(best) and E[max] by quadrature, checked against exact sums and a large seeded Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from modelrollout.analysis import BetaPosterior, best_arm


def _exact_second_better(first: BetaPosterior, second: BetaPosterior) -> float:
    """P(mu_2 > mu_1) for an integer alpha_2, by the finite sum over its successes."""
    a1, b1, a2, b2 = first.alpha, first.beta, second.alpha, second.beta
    i = np.arange(int(a2), dtype=np.float64)
    terms = (
        special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    )
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(
    ("a1", "b1", "a2", "b2"),
    [
        (1, 1, 1, 1),
        (3, 10, 5, 8),
        (2, 1, 1, 2),
        (51, 951, 61, 941),  # 5% against 6% on 1,000 rewards each
        (501, 9501, 601, 9401),
        (60001, 940001, 60101, 939901),  # a million rewards: very narrow posteriors
        (1, 1, 50001, 950001),  # one flat, one narrow
    ],
)
def test_two_arms_match_the_exact_sum(a1: float, b1: float, a2: float, b2: float) -> None:
    first, second = BetaPosterior(a1, b1), BetaPosterior(a2, b2)
    result = best_arm([first, second])
    assert result.probabilities[1] == pytest.approx(_exact_second_better(first, second), abs=1e-8)
    assert sum(result.probabilities) == pytest.approx(1.0, abs=1e-12)


def test_expected_max_of_two_uniforms_is_two_thirds() -> None:
    result = best_arm([BetaPosterior(1, 1), BetaPosterior(1, 1)])
    assert result.probabilities == pytest.approx((0.5, 0.5), abs=1e-12)
    assert result.expected_max == pytest.approx(2.0 / 3.0, abs=1e-9)


def test_three_arms_agree_with_a_large_seeded_monte_carlo() -> None:
    posteriors = [BetaPosterior(20, 100), BetaPosterior(25, 100), BetaPosterior(22, 90)]
    rng = np.random.default_rng(7)
    draws = np.array([rng.beta(p.alpha, p.beta, 400_000) for p in posteriors])
    sampled = np.bincount(draws.argmax(axis=0), minlength=3) / draws.shape[1]
    result = best_arm(posteriors)
    # 400,000 draws: the standard error of a share near 0.4 is below 8e-4.
    assert result.probabilities == pytest.approx(tuple(sampled), abs=4e-3)
    assert result.expected_max == pytest.approx(float(draws.max(axis=0).mean()), abs=5e-4)


def test_identical_arms_share_equally_and_the_answer_is_deterministic() -> None:
    arms = [BetaPosterior(31, 971)] * 4
    first, again = best_arm(arms), best_arm(arms)
    assert first == again
    assert first.probabilities == pytest.approx((0.25,) * 4, abs=1e-9)


def test_one_arm_is_best_for_sure_and_none_is_refused() -> None:
    assert best_arm([BetaPosterior(3, 7)]).probabilities == (1.0,)
    with pytest.raises(ValueError, match="at least one arm"):
        best_arm([])


def test_credible_interval_is_equal_tailed() -> None:
    posterior = BetaPosterior(51, 951)
    low, high = posterior.credible_interval(0.9)
    assert special.betainc(51, 951, low) == pytest.approx(0.05)
    assert special.betainc(51, 951, high) == pytest.approx(0.95)
    assert low < posterior.mean < high
