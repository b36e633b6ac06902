"""Per-impression wins looked at every interval: the operator's anytime-valid interleaving test
against a two-sided binomial z-test repeated at every look (what a dashboard checked daily does).

A credited impression is a tie with probability `tie_rate` (most impressions get no click);
otherwise the candidate wins it with probability `share`. Vectorised over runs and looks with
the analysis package's own `interleaving_log_evidence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from modelrollout.analysis import InterleavingSettings, interleaving_log_evidence

SHARES = (0.5, 0.52, 0.55, 0.6)
"""0.5 is A/A; the others are the candidate's win share among non-tied impressions."""


@dataclass(frozen=True)
class InterleavingBench:
    runs: int = 2000
    looks: int = 200
    rates: tuple[int, ...] = (10, 100, 1000)
    """Credited impressions per interval."""
    tie_rate: float = 0.5
    seed: int = 2027
    alpha: float = InterleavingSettings().alpha


def _first_decisions(decided: np.ndarray) -> np.ndarray:
    """The look index of each run's first decision, or -1."""
    return np.where(decided.any(axis=1), decided.argmax(axis=1), -1)


def run_interleaving(bench: InterleavingBench) -> dict[str, Any]:
    threshold = math.log(1.0 / bench.alpha)
    z = stats.norm.ppf(1.0 - bench.alpha / 2.0)
    cells: dict[str, Any] = {}
    for r, rate in enumerate(bench.rates):
        for s, share in enumerate(SHARES):
            rng = np.random.default_rng([bench.seed, r, s])
            non_ties = rng.binomial(rate, 1.0 - bench.tie_rate, size=(bench.runs, bench.looks))
            wins = rng.binomial(non_ties, share).cumsum(axis=1).astype(np.float64)
            n = non_ties.cumsum(axis=1).astype(np.float64)
            losses = n - wins
            ours = interleaving_log_evidence(wins, losses) >= threshold
            naive = np.abs(wins - losses) >= z * np.sqrt(np.maximum(n, 1.0))
            cell: dict[str, Any] = {"impressions_per_interval": rate, "share": share}
            for name, decided in (("ours", ours), ("naive", naive)):
                first = _first_decisions(decided)
                rows = np.flatnonzero(first >= 0)
                right = wins[rows, first[rows]] > losses[rows, first[rows]]
                cell[name] = {
                    "decided": float(len(rows) / bench.runs),
                    "pass": float(right.sum() / bench.runs),
                    "fail": float((~right).sum() / bench.runs),
                    "impressions_p50": float(np.median((first[rows] + 1) * rate)) if len(rows) else None,
                }
            cells[f"{rate}/{share}"] = cell
    return {
        "runs": bench.runs,
        "looks": bench.looks,
        "tie_rate": bench.tie_rate,
        "alpha": bench.alpha,
        "cells": cells,
    }
