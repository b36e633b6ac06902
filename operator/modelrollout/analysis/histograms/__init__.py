"""Reading Prometheus histograms, shared by the sequential and the fixed-horizon tests.

Bucket counts, survival shares and quantiles, the margin put on a histogram's own scale, and the
drift distances between two versions' histograms: descriptive numbers, no test and no verdict.
"""

from .buckets import (
    Buckets,
    bucket_counts,
    bucket_representatives,
    latency_at_share,
    quantile,
    survival_share,
    to_buckets,
    valid_histogram,
)
from .distances import PSI_FLOOR, corrected_distances, drift_distance, drift_distances
from .margin import binned_margin, slower_at_margin

__all__ = [
    "PSI_FLOOR",
    "Buckets",
    "binned_margin",
    "bucket_counts",
    "bucket_representatives",
    "corrected_distances",
    "drift_distance",
    "drift_distances",
    "latency_at_share",
    "quantile",
    "slower_at_margin",
    "survival_share",
    "to_buckets",
    "valid_histogram",
]
