"""CPU time of one rollout's latency and error assessment with evidence carried across steps.

`hack/analysis_cpu.py` measures the whole evaluation with one split per window (what the
evaluation builds today); this measures the assessment alone on a 120-look path whose split
changes at looks 30, 60 and 90 (`segment_starts`), beside the same path without segments, the
median (and the fastest) of five runs each; with segments also as the evaluation's carried pass
assesses it (`AssessConfig.fail_only`: short of a Fail, the Fail side's e-value alone).

    PYTHONPATH=$PWD/operator:$PWD python hack/analysis_cpu_segments.py
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
from scipy import stats

from modelrollout.analysis import (
    AssessConfig,
    HistogramSample,
    Margin,
    RateSample,
    assess_latency,
    assess_rate,
)

LOOKS = 120
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
STARTS = (30, 60, 90)


def main() -> None:
    rng = np.random.default_rng(2)
    weights = np.repeat((0.05, 0.1, 0.25, 0.5), LOOKS // 4)
    n_s, n_c = rng.poisson(1200 * (1 - weights)), rng.poisson(1200 * weights)
    x_s, x_c = np.cumsum(rng.binomial(n_s, 0.01)), np.cumsum(rng.binomial(n_c, 0.012))
    total_s, total_c = np.cumsum(n_s), np.cumsum(n_c)
    shares = stats.norm.cdf((np.log(np.asarray(EDGES)) - math.log(0.1)) / 0.6)
    probabilities = np.diff(shares, prepend=0.0)
    buckets_s = np.cumsum(rng.multinomial(n_s, probabilities), axis=0)
    buckets_c = np.cumsum(rng.multinomial(n_c, probabilities), axis=0)

    def samples(starts: tuple[int, ...]) -> tuple[RateSample, HistogramSample]:
        rates = [RateSample(*(float(v[i]) for v in (x_s, total_s, x_c, total_c))) for i in range(LOOKS)]
        histograms = [
            HistogramSample(EDGES, tuple(np.cumsum(buckets_s[i]) * 1.0), tuple(np.cumsum(buckets_c[i]) * 1.0))
            for i in range(LOOKS)
        ]
        last_rate, last_histogram = rates[-1], histograms[-1]
        return (
            RateSample(
                last_rate.stable_events,
                last_rate.stable_exposure,
                last_rate.candidate_events,
                last_rate.candidate_exposure,
                earlier=tuple(rates[:-1]),
                segment_starts=starts,
            ),
            HistogramSample(
                EDGES,
                last_histogram.stable_counts,
                last_histogram.candidate_counts,
                earlier=tuple(histograms[:-1]) if starts else (),
                segment_starts=starts,
            ),
        )

    # The carried pass of an evaluation asks only for a Fail (`AssessConfig.fail_only`), the
    # whole assessment is what a window of one split, or a step's own evidence, gets.
    passes = (("whole assessment", AssessConfig()), ("carried pass, Fail only", AssessConfig(fail_only=True)))
    for starts in ((), STARTS):
        rate, latency = samples(starts)
        for margin in (Margin(absolute=0.005), Margin(relative=0.2)):
            for name, config in passes if starts else passes[:1]:
                spent = []
                for _ in range(5):
                    began = time.process_time()
                    assess_rate(rate, margin, config)
                    assess_latency(latency, Margin(relative=0.1), config)
                    spent.append(1000 * (time.process_time() - began))
                kind = "absolute" if margin.absolute is not None else "relative"
                print(
                    f"segments {starts or 'none'}, {kind} error margin, {name}:"
                    f" {statistics.median(spent):.1f} ms CPU (latency + errors; fastest {min(spent):.1f})"
                )


if __name__ == "__main__":
    main()
