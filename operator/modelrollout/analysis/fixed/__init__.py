"""Fixed-horizon tests: classical tests and how each, looked at once, becomes a verdict.

Valid only when read once, at the end of the analysis window; repeated every interval they roll
back far more candidates than alpha. Kept for teams that want one classical decision at the end.
"""

from .classical import (
    EffectSize,
    FixedTestResult,
    chi_square,
    cohens_d,
    g_test,
    hedges_g,
    holm,
    mann_whitney_u,
    relative_change,
    two_proportion_z,
    welch_t,
)
from .non_inferiority import (
    binned_effect_sizes,
    decision_moment,
    effect_gated_verdict,
    mann_whitney_relative_effect,
    one_sided_verdict,
    superiority_at_margin,
)

__all__ = [
    "EffectSize",
    "FixedTestResult",
    "binned_effect_sizes",
    "chi_square",
    "cohens_d",
    "decision_moment",
    "effect_gated_verdict",
    "g_test",
    "hedges_g",
    "holm",
    "mann_whitney_relative_effect",
    "mann_whitney_u",
    "one_sided_verdict",
    "relative_change",
    "superiority_at_margin",
    "two_proportion_z",
    "welch_t",
]
