"""Assessing one metric: a sample of both versions turned into a metric verdict.

One module per metric kind (event rate, latency histogram, drift, threshold), each choosing the
sequential or the fixed-horizon test and filling every field status shows. Missing or too little
data is Inconclusive, never a Fail.
"""

from .drift import assess_drift
from .goal import MeanSample, assess_goal_mean, assess_goal_rate
from .latency import assess_latency
from .rate import assess_rate
from .threshold import assess_threshold, check_threshold

__all__ = [
    "MeanSample",
    "assess_drift",
    "assess_goal_mean",
    "assess_goal_rate",
    "assess_latency",
    "assess_rate",
    "assess_threshold",
    "check_threshold",
]
