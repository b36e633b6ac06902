"""Anytime-valid (sequential) evidence: e-values and confidence sequences valid at every look.

Vectorised over numpy arrays, so the benchmark runs the very code the operator runs on thousands
of simulated streams at once. Every statistic is a function of the cumulative counts (or of the
path of looks), so nothing is kept between intervals.
"""

from .drift_bounds import drift_bounds
from .latency_evidence import LatencyEvidence, latency_log_evidence
from .mixtures import gaussian_log_evidence
from .quantile_bounds import quantile_confidence_interval
from .rate_evidence import RateEvidence, rate_log_evidence
from .rate_ratio import rate_ratio_confidence_sequence
from .risk_difference import risk_difference_final_log_evidence
from .risk_difference_bounds import risk_difference_confidence_sequence, risk_difference_interval_and_evidence
from .risk_difference_segments import risk_difference_segmented_final_log_evidence
from .segments import last_look_path

__all__ = [
    "LatencyEvidence",
    "RateEvidence",
    "drift_bounds",
    "gaussian_log_evidence",
    "last_look_path",
    "latency_log_evidence",
    "quantile_confidence_interval",
    "rate_log_evidence",
    "rate_ratio_confidence_sequence",
    "risk_difference_confidence_sequence",
    "risk_difference_final_log_evidence",
    "risk_difference_interval_and_evidence",
    "risk_difference_segmented_final_log_evidence",
]
