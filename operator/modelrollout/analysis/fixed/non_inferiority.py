"""Fixed-horizon decisions: how one classical test, looked at once, becomes a verdict.

The question is always non-inferiority: is the candidate worse than the margin allows? A test
that takes a margin answers it with two one-sided tests at the margin. Chi-square and G-tests of
homogeneity are two-sided and know no margin, so for them the margin gates the observed effect,
as Kayenta's judge gates its Mann-Whitney test with an effect-size threshold. Mann-Whitney needs
the margin on its own scale, the relative effect, which this module reads off the stable's
histogram the way :func:`..histograms.margin.binned_margin` does for the binned mean.

References
----------
Brunner, E., Munzel, U. (2000). The nonparametric Behrens-Fisher problem: asymptotic theory and
a small-sample approximation. Biometrical Journal 42.
Munzel, U., Hauschke, D. (2003). A nonparametric test for proving noninferiority in clinical
trials with ordered categorical data. Pharmaceutical Statistics 2.
Cohen, J. (1988). Statistical power analysis for the behavioral sciences, 2nd ed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import Verdict
from ..histograms import Buckets, binned_margin, bucket_counts
from ..types import AssessConfig, Margin
from .classical import Alternative, FixedTestResult, StudentT, cohens_d, hedges_g

__all__ = [
    "binned_effect_sizes",
    "decision_moment",
    "effect_gated_verdict",
    "mann_whitney_relative_effect",
    "one_sided_verdict",
    "superiority_at_margin",
]

FloatArray = npt.NDArray[np.float64]


def decision_moment(config: AssessConfig) -> str:
    """Says in an explanation whether this look is the one a fixed-horizon test decides at."""
    return "final look" if config.final else "decided only at the final look"


def one_sided_verdict(worse_p: float, within_p: float, config: AssessConfig) -> Verdict:
    """Two one-sided tests at the margin, read once at the final look; Fail is read first.

    Each side is a level-alpha test of its own null, so a candidate exactly at the margin is
    rolled back with probability at most alpha, and one exactly at it passes at most as often.
    """
    if not config.final:
        return Verdict.INCONCLUSIVE
    if worse_p <= config.alpha:
        return Verdict.FAIL
    if within_p <= config.alpha:
        return Verdict.PASS
    return Verdict.INCONCLUSIVE


def effect_gated_verdict(p_value: float, beyond_margin: bool, config: AssessConfig) -> Verdict:
    """A two-sided test of "the versions differ" made into a rollout decision by the margin.

    At the final look: Fail when the test rejects at alpha and the observed effect is beyond the
    margin; Pass when the observed effect is within the margin (a significant difference inside
    the tolerance is one the spec accepts); Inconclusive when it looks worse than the margin
    without being significant.

    What that guarantees: a candidate equal to the stable is rolled back with probability at most
    alpha (about alpha/2, since only rejections in the worse direction count). What it does not:
    a candidate exactly at the margin is rolled back about half the time once samples are large,
    and a Pass rests on the observed effect, not on a bound, so with few requests a worse
    candidate can pass. The one-sided tests (:func:`one_sided_verdict`) guarantee both.
    """
    if not config.final:
        return Verdict.INCONCLUSIVE
    if not beyond_margin:
        return Verdict.PASS
    return Verdict.FAIL if p_value <= config.alpha else Verdict.INCONCLUSIVE


def _placements_among(counts: FloatArray) -> FloatArray:
    """Per bucket: the share of ``counts`` in faster buckets plus half the share in that bucket.

    It is where a request of that bucket stands among these requests, ties counted half; its
    average over the other version's requests is Mann-Whitney's relative effect.
    """
    shares = counts / counts.sum()
    return np.asarray(np.cumsum(shares) - shares / 2, dtype=np.float64)


def superiority_at_margin(stable: Buckets, margin: Margin) -> float:
    """The relative effect a candidate slowed by exactly the margin would show, binned.

    Against itself the stable has a relative effect of exactly 1/2. Shifted by the margin, a
    request lands in a slower bucket than a stable one a little more often; how much more depends
    on where the stable's mass sits against the edges (a 10% slowdown barely moves requests across
    edges 2.5x apart). The relative effect is linear in the bucket shares, so it moves by the
    binned-mean shift of the stable's placements, which :func:`..histograms.margin.binned_margin`
    computes from the stable's (interpolated) histogram shifted by the margin and binned again.
    """
    placements = _placements_among(bucket_counts(np.append(stable.cumulative, stable.total)))
    shift = binned_margin(stable.edges, stable.cumulative, np.asarray(stable.total), margin, placements)
    return 0.5 + float(shift)


def mann_whitney_relative_effect(
    candidate_counts: Sequence[float] | FloatArray,
    stable_counts: Sequence[float] | FloatArray,
    null_effect: float = 0.5,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> FixedTestResult:
    """Mann-Whitney's relative effect on binned data, tested against any ``null_effect``.

    The effect is the chance that a candidate request lands in a slower bucket than a stable one,
    ties counted half: ``U / (n_c n_s)`` of :func:`.classical.mann_whitney_u`. That test's variance
    holds only when both versions share one distribution, its null of 1/2. A null at the margin
    is a pair of different distributions, so the variance here is Brunner and Munzel's, from the
    placements (where each request stands among the other version's), with their Satterthwaite
    degrees of freedom for a t reference; at ``null_effect=0.5`` this is the Brunner-Munzel test,
    and with a margin it is Munzel and Hauschke's non-inferiority test for ordered categories.
    ``statistic`` is the t; the interval, clipped to [0, 1], is one-sided for a one-sided test.
    """
    counts_c = np.asarray(candidate_counts, dtype=np.float64)
    counts_s = np.asarray(stable_counts, dtype=np.float64)
    n_c, n_s = float(counts_c.sum()), float(counts_s.sum())
    among_stable = _placements_among(counts_s)
    among_candidate = 1 - _placements_among(counts_c)
    effect = float(np.dot(counts_c, among_stable) / n_c)
    spread_c = float(np.dot(counts_c, (among_stable - effect) ** 2)) / max(n_c - 1, 1.0) / n_c
    spread_s = float(np.dot(counts_s, (among_candidate - effect) ** 2)) / max(n_s - 1, 1.0) / n_s
    standard_error = math.sqrt(spread_c + spread_s)
    excess = effect - null_effect
    if standard_error > 0:
        statistic = excess / standard_error
        df = (spread_c + spread_s) ** 2 / (spread_c**2 / max(n_c - 1, 1.0) + spread_s**2 / max(n_s - 1, 1.0))
    else:
        statistic = math.copysign(math.inf, excess) if excess != 0 else 0.0
        df = max(n_c + n_s - 2, 1.0)
    distribution = StudentT(df)
    if alternative == "greater":
        pvalue = float(distribution.sf(statistic))
        interval = (effect - float(distribution.ppf(confidence)) * standard_error, 1.0)
    elif alternative == "less":
        pvalue = float(distribution.cdf(statistic))
        interval = (0.0, effect + float(distribution.ppf(confidence)) * standard_error)
    else:
        pvalue = float(min(1.0, 2 * distribution.sf(abs(statistic))))
        half_width = float(distribution.ppf(0.5 + confidence / 2)) * standard_error
        interval = (effect - half_width, effect + half_width)
    return FixedTestResult(
        method="Mann-Whitney relative effect (Brunner-Munzel)",
        statistic=statistic,
        pvalue=pvalue,
        effect=effect,
        interval=(max(0.0, interval[0]), min(1.0, interval[1])),
        df=df,
    )


def binned_effect_sizes(
    log_latencies: FloatArray, candidate_counts: FloatArray, stable_counts: FloatArray
) -> tuple[float | None, float | None]:
    """Cohen's d and Hedges' g of binned log latency; None where they are undefined.

    On log latency whatever the margin: latencies are roughly log-normal, so that is the scale on
    which a standardised difference reads the same for a fast and a slow model. Undefined with
    fewer than two requests in a version, or with no spread to standardise by (each version's
    requests all in one bucket).
    """
    if min(float(candidate_counts.sum()), float(stable_counts.sum())) < 2:
        return None, None
    if max(np.count_nonzero(candidate_counts > 0), np.count_nonzero(stable_counts > 0)) < 2:
        return None, None
    arguments = (log_latencies, log_latencies, candidate_counts, stable_counts)
    return cohens_d(*arguments).value, hedges_g(*arguments).value
