"""The interleaving experiment's sequential test: do users prefer the candidate's ranking?

The router merges the stable's and the candidate's ranked lists by team draft and credits each
impression to the version whose items got more clicks, or to neither (a tie, no clicks included):
`ROUTER_INTERLEAVING_WINS` with `version` = the winner or `tie`. Team draft gives both versions
the same chances at every position (a coin decides who picks first), so with no preference a
non-tied impression is a fair coin: the candidate wins it with probability p = 1/2. Ties carry no
information about the direction and are left out of the test (they only dilute the effect
reported per impression).

The test is anytime valid, because the operator reads the counters every interval for as long as
the experiment runs and stops at the first decision: the e-value is the Bayes factor of a
mixture of Beta(c, c) priors on p against p = 1/2,

    E_n = mean_c  B(c + wins, c + losses) / B(c, c)  x  2^(wins + losses),

a nonnegative martingale under the null, so by Ville's inequality it ever reaches 1/alpha with
probability at most alpha, however often it is looked at. The same mixture, inverted, is a
confidence sequence for p (Robbins 1970): the p whose likelihood is within a factor 1/alpha of the
mixture's. Pass (Fail) is exactly "the whole interval is above (below) 1/2", so the verdict and
the interval never disagree; with no preference, Pass and Fail together happen at most alpha of
the time. One concentration is tuned to one effect size; the grid of
concentrations costs at most log(len(grid)) of evidence against the best of them, and spans
win shares from about 0.5 +- 0.3 (c = 1) to 0.5 +- 0.005 (c = 4096).

Both are functions of the cumulative counters only: nothing is kept between intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from ..api.v1alpha1 import Verdict

FloatArray = npt.NDArray[np.float64]

DEFAULT_CONCENTRATIONS: Final = (1.0, 16.0, 256.0, 4096.0)
_BISECTION_STEPS: Final = 60


@dataclass(frozen=True)
class InterleavingCounts:
    """Credited impressions since the experiment started (the router's wins counter)."""

    candidate_wins: float
    stable_wins: float
    ties: float = 0.0
    """Impressions credited to neither (equal clicks, or none)."""


@dataclass(frozen=True)
class InterleavingSettings:
    alpha: float = 0.05
    """Probability, over the whole experiment, of a decision when users have no preference."""
    concentrations: tuple[float, ...] = DEFAULT_CONCENTRATIONS
    """The c of the Beta(c, c) priors mixed (equal weights): small c for large preferences, large
    c for small ones (see the module's docstring)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")
        if not self.concentrations or min(self.concentrations) <= 0.0:
            raise ValueError(f"concentrations must be positive, not {self.concentrations}")


@dataclass(frozen=True)
class InterleavingResult:
    verdict: Verdict
    """Pass: users prefer the candidate; Fail: they prefer the stable; else Inconclusive."""
    win_share: float
    """Candidate wins / non-tied impressions (1/2 before any)."""
    low: float
    high: float
    """Anytime-valid 1 - alpha confidence interval of the win share."""
    preference: float
    """(candidate wins - stable wins) / credited impressions, ties included: the net share of
    impressions on which users preferred the candidate."""
    log_evidence: float
    """log of the e-value against "no preference"; a decision needs log(1/alpha)."""
    non_ties: float
    impressions: float


def _log_mixture(wins: FloatArray, losses: FloatArray, concentrations: tuple[float, ...]) -> FloatArray:
    """log of the mixture's marginal likelihood of the sequence (not the count): mean over c."""
    c = np.asarray(concentrations, dtype=np.float64).reshape((-1,) + (1,) * wins.ndim)
    terms = special.betaln(c + wins, c + losses) - special.betaln(c, c)
    return np.asarray(special.logsumexp(terms, axis=0) - math.log(len(concentrations)), dtype=np.float64)


def interleaving_log_evidence(
    candidate_wins: npt.ArrayLike,
    stable_wins: npt.ArrayLike,
    concentrations: tuple[float, ...] = DEFAULT_CONCENTRATIONS,
) -> FloatArray:
    """log E against p = 1/2, vectorised over arrays of counts (the benchmark's thousands of
    simulated experiments run this very function)."""
    wins, losses = np.broadcast_arrays(
        np.asarray(candidate_wins, dtype=np.float64), np.asarray(stable_wins, dtype=np.float64)
    )
    evidence: FloatArray = _log_mixture(wins, losses, concentrations) + (wins + losses) * math.log(2.0)
    return evidence


def _log_likelihood(p: float, wins: float, losses: float) -> float:
    return float(special.xlogy(wins, p) + special.xlog1py(losses, -p))


def _bound(wins: float, losses: float, log_threshold: float, inside: float, outside: float) -> float:
    """The edge of {p : log L(p) >= threshold} between `inside` (in the set) and `outside`
    (0 or 1): the log likelihood is concave, so the set is an interval and one bisection finds
    each end."""
    if _log_likelihood(outside, wins, losses) >= log_threshold:
        return outside
    for _ in range(_BISECTION_STEPS):
        middle = (inside + outside) / 2.0
        if _log_likelihood(middle, wins, losses) >= log_threshold:
            inside = middle
        else:
            outside = middle
    return inside


def assess_interleaving(counts: InterleavingCounts, settings: InterleavingSettings) -> InterleavingResult:
    """The verdict on the cumulative counters at this look (see the module's docstring)."""
    wins, losses, ties = counts.candidate_wins, counts.stable_wins, counts.ties
    if min(wins, losses, ties) < 0.0:
        raise ValueError(f"interleaving counters are negative: {counts}")
    non_ties = wins + losses
    impressions = non_ties + ties
    log_evidence = float(interleaving_log_evidence(wins, losses, settings.concentrations))
    share = wins / non_ties if non_ties > 0 else 0.5
    # The confidence sequence: p whose likelihood is within 1/alpha of the mixture's.
    log_threshold = float(
        _log_mixture(
            np.asarray(wins, dtype=np.float64), np.asarray(losses, dtype=np.float64), settings.concentrations
        )
    )
    log_threshold += math.log(settings.alpha)
    low = _bound(wins, losses, log_threshold, share, 0.0)
    high = _bound(wins, losses, log_threshold, share, 1.0)
    # The evidence decides; the interval excludes 1/2 exactly then (up to the bisection's 1e-18).
    decided = log_evidence >= -math.log(settings.alpha)
    if decided and wins > losses:
        verdict = Verdict.PASS
    elif decided and wins < losses:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    preference = (wins - losses) / impressions if impressions > 0 else 0.0
    return InterleavingResult(verdict, share, low, high, preference, log_evidence, non_ties, impressions)
