"""From Thompson sampling's ideal shares to the weights the router is given.

The ideal shares (each arm's P(best)) can swing from 50/50 to 99/1 between two intervals when a
burst of feedback lands, and can starve the stable. Two guards hold the weights back: the stable
keeps at least its floor (so it stays a live comparison and users keep a known-good version), and
no weight moves more than the maximum step per interval (so a feedback artefact, or a delayed
conversion that favours the arm which was pulled earlier, cannot move all users at once).

The weights are the Euclidean projection of the ideal shares on the set those guards allow (a box
per arm intersected with "sum to 100"): the closest allowed weights, which are the ideal shares
shifted by one common amount and clipped to the box. They are then put on a grid of
``resolution`` percent by largest remainders within the same box, so they sum to 100 exactly in
grid units and every guard still holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

TOTAL: Final = 100.0
_EPSILON: Final = 1e-9


def _project(target: Sequence[float], lower: Sequence[float], upper: Sequence[float]) -> list[float]:
    """The point of {lower <= w <= upper, sum w = TOTAL} closest to `target`: ``clip(target +
    shift)``. The sum is piecewise linear and nondecreasing in the shift, with kinks where an arm
    meets a bound, so the shift is found exactly between the two kinks around TOTAL."""

    def clipped(shift: float) -> list[float]:
        return [min(max(t + shift, lo), hi) for t, lo, hi in zip(target, lower, upper, strict=True)]

    kinks = sorted({b - t for t, lo, hi in zip(target, lower, upper, strict=True) for b in (lo, hi)})
    previous_kink, previous_sum = kinks[0], sum(clipped(kinks[0]))
    for kink in kinks[1:]:
        total = sum(clipped(kink))
        if total >= TOTAL:
            if total == previous_sum:
                return clipped(kink)
            fraction = (TOTAL - previous_sum) / (total - previous_sum)
            return clipped(previous_kink + fraction * (kink - previous_kink))
        previous_kink, previous_sum = kink, total
    return clipped(kinks[-1])


def _on_grid(
    weights: Sequence[float], lower: Sequence[int], upper: Sequence[int], units: int
) -> list[int] | None:
    """Grid units per arm within [lower, upper] summing to `units`, nearest to `weights` by
    largest remainders; None when the box holds no such point."""
    if sum(lower) > units or sum(upper) < units:
        return None
    base = [
        min(max(math.floor(w + _EPSILON), lo), hi) for w, lo, hi in zip(weights, lower, upper, strict=True)
    ]
    remainders = [w - b for w, b in zip(weights, base, strict=True)]
    missing = units - sum(base)
    order = sorted(range(len(base)), key=lambda i: (-remainders[i], i))
    while missing > 0:
        grown = next(i for i in order if base[i] < upper[i])
        base[grown] += 1
        remainders[grown] -= 1.0
        missing -= 1
        order = sorted(range(len(base)), key=lambda i: (-remainders[i], i))
    while missing < 0:
        shrunk = next(i for i in reversed(order) if base[i] > lower[i])
        base[shrunk] -= 1
        remainders[shrunk] += 1.0
        missing += 1
        order = sorted(range(len(base)), key=lambda i: (-remainders[i], i))
    return base


def guarded_weights(
    ideal: Sequence[float],
    previous: Sequence[float],
    floors: Sequence[float],
    max_step: float,
    resolution: float,
) -> tuple[float, ...]:
    """Weights (percent, summing to 100 on a grid of `resolution`) nearest to `ideal` (percent)
    with every arm at least its floor and at most `max_step` away from its previous weight.

    When the previous weights break a floor (the floor was raised, or the weights came from
    elsewhere) the step limit yields for this interval: the floors are the user's promise to
    the stable, the step limit only a damper.
    """
    units = round(TOTAL / resolution)
    if not math.isclose(units * resolution, TOTAL, rel_tol=1e-9):
        raise ValueError(f"resolution {resolution} does not divide 100")
    if sum(floors) > TOTAL + _EPSILON:
        raise ValueError(f"the floors sum to {sum(floors)}, past 100")
    stepped_lower = [max(f, p - max_step, 0.0) for f, p in zip(floors, previous, strict=True)]
    stepped_upper = [min(TOTAL, p + max_step) for p in previous]
    boxes = [(stepped_lower, stepped_upper), (list(floors), [TOTAL] * len(floors))]
    for lower, upper in boxes:
        if (
            sum(lower) > TOTAL + _EPSILON
            or sum(upper) < TOTAL - _EPSILON
            or any(lo > hi + _EPSILON for lo, hi in zip(lower, upper, strict=True))
        ):
            continue
        projected = _project(ideal, lower, upper)
        grid = _on_grid(
            [w / resolution for w in projected],
            [math.ceil(lo / resolution - _EPSILON) for lo in lower],
            [math.floor(hi / resolution + _EPSILON) for hi in upper],
            units,
        )
        if grid is not None:
            return tuple(round(g * resolution, 9) for g in grid)
    raise ValueError(f"no weights on a {resolution}% grid meet the floors {list(floors)}")
