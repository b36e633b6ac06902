"""CPU time of the analysis of one rollout per tick, the data path left out.

Builds a fleet of rollouts whose latency histograms (12 buckets) and error counts are drawn at
random for every interval of a 1-hour window (120 intervals at 30 s), answers the queries from
memory, and times `evaluate_intervals` at the window's last look. Prints milliseconds of process
CPU time per rollout (the median of --repeat runs, and the fastest) and, with --profile, the
hottest functions.

    PYTHONPATH=$PWD/operator:$PWD python hack/analysis_cpu.py [--rollouts N] [--absolute] [--carried]
        [--profile] [--repeat N]
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
from modelrollout.evaluation import EvaluationRequest, evaluate_intervals, first_interval_end
from modelrollout.metrics import RangeSeries, Series
from modelrollout.metrics import queries as defaults

INTERVAL = 30
LOOKS = 120
START = datetime(2025, 1, 1, 12, 0, 10, tzinfo=UTC)
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


class MemorySource:
    """Answers from prepared series at no cost: only the analysis is measured."""

    def __init__(self, ranges: dict[str, list[RangeSeries]], presence: dict[str, list[Series]]) -> None:
        self.ranges = ranges
        self.presence = presence

    def query(self, promql: str, at: datetime) -> list[Series]:
        return self.presence.get(promql, [])

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        return self.ranges.get(promql, [])

    def is_online(self) -> bool:
        return True


def _version_series(
    rng: np.random.Generator,
    labels: dict[str, str],
    times: Sequence[float],
    rps: npt.NDArray[np.float64],
    errors: float | npt.NDArray[np.float64],
    median: float,
    slower: npt.NDArray[np.float64] | None = None,
) -> dict[str, list[RangeSeries]]:
    """``errors`` may differ per look; ``slower`` scales the median latency per look."""
    requests = rng.poisson(rps * INTERVAL)  # requests per second at each look.astype(float)
    failed = rng.binomial(requests.astype(np.int64), errors).astype(float)
    finite = np.asarray(EDGES[:-1])

    def bucket_probabilities(at: float) -> npt.NDArray[np.float64]:
        shares = 0.5 * np.asarray([math.erfc(-math.log(e / at) / (0.6 * math.sqrt(2))) for e in finite])
        return np.asarray(np.diff(np.concatenate(([0.0], shares, [1.0]))), dtype=np.float64)

    scales = np.ones(len(requests)) if slower is None else slower
    per_bucket = np.stack(
        [
            rng.multinomial(int(n), bucket_probabilities(median * s))
            for n, s in zip(requests, scales, strict=True)
        ]
    ).astype(float)
    cumulative = np.cumsum(per_bucket, axis=1)

    def series(extra: dict[str, str], values: Sequence[float]) -> RangeSeries:
        return RangeSeries({**labels, **extra}, tuple(zip(times, (float(v) for v in values), strict=True)))

    buckets = [
        series({"le": "+Inf" if edge == math.inf else repr(edge)}, cumulative[:, index])
        for index, edge in enumerate(EDGES)
    ]
    return {
        "buckets": buckets,
        "sum": [series({}, requests * median * 1.2)],
        "requests": [series({}, requests)],
        "errors": [series({}, failed)],
    }


CARRIED_WEIGHTS = (0.05, 0.1, 0.25, 0.5)
"""--carried: the canary's weight over four analysis steps of 30 looks each."""


def fleet(
    rollouts: int, seed: int, absolute: bool, carried: bool = False, late: bool = False
) -> tuple[MemorySource, list[EvaluationRequest]]:
    """With ``carried`` the rollouts are at their fourth analysis step (the last 30 looks), their
    evidence carried from the first and cut where the weight changed (5%, 10%, 25%, 50%).

    ``late``: a regression in the last step only (errors 1% -> 3%, latency 1.3x, in every other
    rollout), so that the step's own evidence may say Fail where the carried evidence does not
    yet (the tests' pin of the evaluation needs that case; the timing does not use it)."""
    rng = np.random.default_rng(seed)
    first = first_interval_end(START, INTERVAL)
    at = first + timedelta(seconds=INTERVAL * (LOOKS - 1))
    times = [first.timestamp() + INTERVAL * i for i in range(LOOKS)]
    errors = MetricSpec(
        name="errors",
        type=MetricType.ERROR_RATE,
        **({"max_absolute_increase": 0.005} if absolute else {"max_relative_increase": 0.2}),
    )
    latency = MetricSpec(name="latency", type=MetricType.LATENCY, max_relative_increase=0.1)
    spec = AnalysisSpec(
        interval=f"{INTERVAL}s",
        max_duration="2h",
        prometheus=PrometheusSpec(address="http://prometheus:9090"),
        metrics=[latency, errors],
    )
    keys = {
        "buckets": defaults.histogram_buckets(defaults.LATENCY_METRIC, INTERVAL),
        "sum": defaults.histogram_sum(defaults.LATENCY_METRIC, INTERVAL),
        "requests": defaults.requests(defaults.REQUESTS_METRIC, INTERVAL),
        "errors": defaults.request_errors(defaults.REQUESTS_METRIC, INTERVAL),
    }
    quarter = LOOKS // len(CARRIED_WEIGHTS)
    step_starts = [START] + [first + timedelta(seconds=INTERVAL * (quarter * i - 1)) for i in range(1, 4)]
    ranges: dict[str, list[RangeSeries]] = {query: [] for query in keys.values()}
    present: list[Series] = []
    requests = []
    for index in range(rollouts):
        model = f"model-{index}"
        present.append(Series({"namespace": "ns", "model": model}, 1.0, at.timestamp()))
        rps = float(rng.choice([1.0, 10.0, 100.0]))
        weight = np.repeat(CARRIED_WEIGHTS, LOOKS // len(CARRIED_WEIGHTS)) if carried else np.full(LOOKS, 0.1)
        candidate_errors: float | npt.NDArray[np.float64] = float(rng.choice([0.01, 0.02]))
        slower = None
        if late and index % 2:
            last_step = np.arange(LOOKS) >= LOOKS - quarter
            candidate_errors = np.where(last_step, 0.03, 0.01)
            slower = np.where(last_step, 1.3, 1.0)
        for version, share, error_rate, scale in (
            ("v1", 1 - weight, 0.01, None),
            ("v2", weight, candidate_errors, slower),
        ):
            labels = {"namespace": "ns", "model": model, "version": version}
            made = _version_series(rng, labels, times, rps * share, error_rate, 0.1, scale)
            for name, found in made.items():
                ranges[keys[name]].extend(found)
        requests.append(
            EvaluationRequest(
                namespace="ns",
                name=model,
                model=model,
                stable_version="v1",
                candidate_version="v2",
                analysis=spec,
                started_at=step_starts[-1] if carried else START,
                at=at,
                evidence_started_at=START if carried else None,
                split_changes=tuple(step_starts[1:]) if carried else (),
            )
        )
    presence = {
        defaults.series_presence(name): present
        for name in (
            defaults.REQUESTS_METRIC,
            f"{defaults.LATENCY_METRIC}_bucket",
            defaults.error_series(defaults.REQUESTS_METRIC),
        )
    }
    return MemorySource(ranges, presence), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=50)
    parser.add_argument("--absolute", action="store_true", help="an absolute error-rate margin")
    parser.add_argument(
        "--carried",
        action="store_true",
        help="the fourth analysis step, evidence carried and cut at each weight",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time this many runs: their median, and the fastest (a busy machine)",
    )
    arguments = parser.parse_args()
    source, requests = fleet(arguments.rollouts, arguments.seed, arguments.absolute, arguments.carried)
    evaluate_intervals(requests[:1], source)  # imports and caches warmed outside the timing
    profiler = cProfile.Profile() if arguments.profile else None
    spent = []
    for _ in range(max(1, arguments.repeat)):
        began = time.process_time()
        if profiler is not None:
            profiler.enable()
        results = evaluate_intervals(requests, source)
        if profiler is not None:
            profiler.disable()
        spent.append(time.process_time() - began)
    verdicts: dict[str, int] = {}
    for result in results:
        verdicts[str(result.verdict)] = verdicts.get(str(result.verdict), 0) + 1
    per_rollout = [1000 * value / len(requests) for value in spent]
    print(
        f"{statistics.median(per_rollout):.1f} ms CPU per rollout per tick (median of {len(spent)} runs,"
        f" fastest {min(per_rollout):.1f}; {len(requests)} rollouts, {verdicts})"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
