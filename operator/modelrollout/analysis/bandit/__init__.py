"""The bandit experiment's decision: Beta-Bernoulli Thompson sampling over interval weights.

`policy` turns the router's cumulative counters and the weights in force into the next weights,
each arm's posterior, and whether to stop; `posterior` computes P(best) by quadrature;
`weights` applies the stable's floor and the maximum step. Pure, no I/O.
"""

from .policy import ArmCounts, ArmReport, BanditDecision, BanditSettings, bandit_decision, regret_against
from .posterior import BestArm, BetaPosterior, best_arm

__all__ = [
    "ArmCounts",
    "ArmReport",
    "BanditDecision",
    "BanditSettings",
    "BestArm",
    "BetaPosterior",
    "bandit_decision",
    "best_arm",
    "regret_against",
]
