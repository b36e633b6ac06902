"""How evidence carried across a canary's steps behaves with the operator's error-rate tests as
they are (e-values of the cumulative counts): false rollbacks of a candidate exactly at the
margin, and requests to a rollback, carried versus restarted at every step.

A canary of one hour looked at every minute: 10% for 20 minutes, 25% for 20, 50% for 20, at 1
and 10 requests per second; errors 1% on the stable. Counts per interval are Poisson. "carried"
judges a Fail on the counts since the first look (Fail only; `minSamples` on those counts);
"restarted" judges each step on its own counts and rolls back if any step fails (today's
behaviour). Run: `python hack/carried_evidence_sim.py [--runs N]` (1000 runs: about ten minutes).
"""

from __future__ import annotations

import argparse

import numpy as np

from modelrollout.analysis import Margin
from modelrollout.analysis.sequential import rate_log_evidence

STEPS = ((20, 0.10), (20, 0.25), (20, 0.50))
"""(looks, candidate weight) per analysis step."""
STABLE_RATE = 0.01
ALPHA = 0.05


def _counts(rng: np.random.Generator, runs: int, rps: float, candidate_rate: float) -> tuple[np.ndarray, ...]:
    """Per-interval counts, shape (runs, looks): stable errors, stable requests, candidate's."""
    weights = np.concatenate([np.full(looks, weight) for looks, weight in STEPS])
    n_c = rng.poisson(rps * 60 * weights, size=(runs, weights.size)).astype(float)
    n_s = rng.poisson(rps * 60 * (1 - weights), size=(runs, weights.size)).astype(float)
    return (
        rng.binomial(n_s.astype(int), STABLE_RATE).astype(float),
        n_s,
        rng.binomial(n_c.astype(int), candidate_rate).astype(float),
        n_c,
    )


def _first_fail(
    x_s: np.ndarray, n_s: np.ndarray, x_c: np.ndarray, n_c: np.ndarray, margin: Margin, min_samples: float
) -> np.ndarray:
    """Index of the first look whose cumulative Fail e-value crosses 1/alpha (looks if none)."""
    cumulative = [np.cumsum(a, axis=-1) for a in (x_s, n_s, x_c, n_c)]
    fail = rate_log_evidence(*cumulative, margin, ALPHA).fail_log_e
    crossed = (fail >= np.log(1 / ALPHA)) & (cumulative[3] >= min_samples)
    return np.where(crossed.any(axis=-1), crossed.argmax(axis=-1), x_s.shape[-1])


def _carried(counts: tuple[np.ndarray, ...], margin: Margin, min_samples: float) -> np.ndarray:
    return _first_fail(*counts, margin, min_samples)


def _restarted(counts: tuple[np.ndarray, ...], margin: Margin, min_samples: float) -> np.ndarray:
    first = np.full(counts[0].shape[0], counts[0].shape[-1])
    start = 0
    for looks, _ in STEPS:
        part = tuple(a[:, start : start + looks] for a in counts)
        found = _first_fail(*part, margin, min_samples)
        first = np.where((first == counts[0].shape[-1]) & (found < looks), start + found, first)
        start += looks
    return first


def _requests_to(first: np.ndarray, n_c: np.ndarray) -> float:
    """E[candidate requests until the rollback or the end], over all runs."""
    cumulative = np.cumsum(n_c, axis=-1)
    index = np.minimum(first, n_c.shape[-1] - 1)
    return float(np.take_along_axis(cumulative, index[:, None], axis=-1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    margins = {
        "relative +20%": (Margin(relative=0.2), 1.2),
        "absolute +0.5 pp": (Margin(absolute=0.005), None),
    }
    print(
        "| margin | rps | candidate | minSamples | carried: rolled back | restarted: rolled back |"
        " carried: mean requests | restarted: mean requests |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (margin, ratio) in margins.items():
        at_margin = STABLE_RATE * ratio if ratio is not None else STABLE_RATE + (margin.absolute or 0.0)
        worse = STABLE_RATE + 5 * (at_margin - STABLE_RATE)
        for rps in (1.0, 10.0):
            for label, rate in (("at the margin", at_margin), ("5x the margin", worse)):
                counts = _counts(rng, args.runs, rps, rate)
                looks = counts[0].shape[-1]
                for min_samples in (200.0, 50.0):
                    carried = _carried(counts, margin, min_samples)
                    restarted = _restarted(counts, margin, min_samples)
                    print(
                        f"| {name} | {rps:g} | {label} | {min_samples:g} | {np.mean(carried < looks):.1%}"
                        f" | {np.mean(restarted < looks):.1%} | {_requests_to(carried, counts[3]):.0f}"
                        f" | {_requests_to(restarted, counts[3]):.0f} |"
                    )


if __name__ == "__main__":
    main()
