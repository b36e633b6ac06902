"""Vectorised root searches shared by the sequential tests, shaped for numpy's per-call cost.

The operator evaluates one rollout at a time, so its arrays are small and a search's cost is the
number of numpy calls, not the number of elements. The searches here trade elements for calls:
:func:`tree_bisect` takes several bisection steps per evaluation and lands on exactly the points
plain bisection would, :func:`newton_root` needs a handful of steps where bisection needs
forty, and :func:`secant_to_rejection` finds a confidence set's end in one to four calls,
always at a point that rejects. It sits at the bottom of ``analysis`` so that histograms and
the sequential tests can both search. Measured per rollout and tick: hack/analysis_cpu.py,
docs/statistics.md#cpu-budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["arithmetic_middle", "geometric_middle", "newton_root", "secant_to_rejection", "tree_bisect"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

TREE_LEVELS: Final = 4
"""Bisection steps per evaluation: 15 points a call, a quarter of the calls."""
_PYTHON_WALK: Final = 8
"""Searches up to this many are walked with Python floats (:func:`_walk_in_python`)."""
_NEWTON_STEPS: Final = 60
"""A ceiling only: the safeguarded steps stop once every root is at machine precision."""
_SECANT_STEPS: Final = 16
"""A ceiling only; from the probes' bracket one to four steps were needed (1-100 rps)."""


def arithmetic_middle(low: FloatArray, high: FloatArray) -> FloatArray:
    return np.asarray((low + high) / 2, dtype=np.float64)


def geometric_middle(low: FloatArray, high: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(low * high), dtype=np.float64)


_PYTHON_MIDDLES: Final[
    dict[Callable[[FloatArray, FloatArray], FloatArray], Callable[[float, float], float]]
] = {
    arithmetic_middle: lambda low, high: (low + high) / 2,
    geometric_middle: lambda low, high: math.sqrt(low * high),
}
"""The same middles on Python floats (IEEE arithmetic and a correctly rounded square root)."""


def tree_bisect(
    moves_up: Callable[[FloatArray], BoolArray],
    low: ArrayLike,
    high: ArrayLike,
    steps: int,
    levels: int = TREE_LEVELS,
    middle_of: Callable[[FloatArray, FloatArray], FloatArray] = arithmetic_middle,
) -> tuple[FloatArray, FloatArray]:
    """``steps`` of bisection on ``[low, high]``, ``levels`` steps per call of ``moves_up``.

    ``moves_up(points)`` gets points shaped ``(n, *low.shape)`` and says where the search should
    continue above each point (``low`` moves up to it) rather than below (``high`` moves down).
    Every point bisection could visit in the next ``levels`` steps is evaluated at once, each
    computed by the same ``middle_of(low, high)`` as bisection computes it (``(low + high) / 2``
    unless told otherwise), and the path is then followed through them; so the result is
    bisection's to the last bit, for any predicate.
    """
    low, high = np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)
    shape = low.shape
    if low.size <= _PYTHON_WALK and middle_of in _PYTHON_MIDDLES:
        return _walk_in_python(moves_up, low, high, steps, levels, _PYTHON_MIDDLES[middle_of])
    flat_low, flat_high = low.reshape(-1), high.reshape(-1)
    columns = np.arange(flat_low.size)
    done = 0
    while done < steps:
        depth = min(levels, steps - done)
        level_low, level_high = flat_low[None], flat_high[None]
        layers = []
        for _ in range(depth):
            middle = middle_of(level_low, level_high)
            layers.append(middle)
            # Children of each point: (low, middle) below it, (middle, high) above it.
            ends = np.stack((level_low, middle, level_high), axis=1)
            level_low = ends[:, :2].reshape((-1, columns.size))
            level_high = ends[:, 1:].reshape((-1, columns.size))
        points = np.concatenate(layers)
        up = np.asarray(moves_up(points.reshape((-1, *shape))), dtype=np.bool_).reshape(points.shape)
        # Follow bisection's path through the evaluated tree: node ``i``'s children are
        # ``2i + 1`` (below its point) and ``2i + 2`` (above it).
        node = np.zeros(columns.size, dtype=np.int64)
        for _ in range(depth):
            middle, going_up = points[node, columns], up[node, columns]
            flat_low = np.where(going_up, middle, flat_low)
            flat_high = np.where(going_up, flat_high, middle)
            node = 2 * node + 1 + going_up
        done += depth
    return flat_low.reshape(shape), flat_high.reshape(shape)


def _walk_in_python(
    moves_up: Callable[[FloatArray], BoolArray],
    low: FloatArray,
    high: FloatArray,
    steps: int,
    levels: int,
    middle_of: Callable[[float, float], float],
) -> tuple[FloatArray, FloatArray]:
    """:func:`tree_bisect` for a few searches (one rollout's interval ends): the tree is built and
    walked with Python floats, whose arithmetic is numpy's float64 to the bit, because on a
    handful of numbers each numpy call costs more than the arithmetic."""
    shape = low.shape
    lows, highs = [float(v) for v in low.reshape(-1)], [float(v) for v in high.reshape(-1)]
    done = 0
    while done < steps:
        depth = min(levels, steps - done)
        trees = []
        for column_low, column_high in zip(lows, highs, strict=True):
            nodes: list[float] = []
            brackets = [(column_low, column_high)]
            for _ in range(depth):
                children = []
                for bracket_low, bracket_high in brackets:
                    middle = middle_of(bracket_low, bracket_high)
                    nodes.append(middle)
                    children += [(bracket_low, middle), (middle, bracket_high)]
                brackets = children
            trees.append(nodes)
        points = np.asarray(trees, dtype=np.float64).T
        up = (
            np.asarray(moves_up(points.reshape((-1, *shape))), dtype=np.bool_)
            .reshape(points.shape)
            .T.tolist()
        )
        for column, nodes in enumerate(trees):
            node = 0
            for _ in range(depth):
                if up[column][node]:
                    lows[column], node = nodes[node], 2 * node + 2
                else:
                    highs[column], node = nodes[node], 2 * node + 1
        done += depth
    return np.asarray(lows, dtype=np.float64).reshape(shape), np.asarray(highs, dtype=np.float64).reshape(
        shape
    )


def newton_root(
    value_and_slope: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    low: FloatArray,
    high: FloatArray,
    start: FloatArray,
    value: Callable[[FloatArray], FloatArray] | None = None,
) -> FloatArray:
    """Where a function that is positive below its root and negative above it crosses zero in
    ``[low, high]`` (an end if it does not).

    Safeguarded Newton: a step that would leave the bracket is replaced by the bracket's middle, and the bracket shrinks with the sign at every point; so it
    converges wherever bisection does, and to machine precision in a few steps where the function
    is smooth. Stops when no point moves by more than 1e-14 of itself (rounding can keep the last ulps moving).
    ``value``: the function's value alone, computed as ``value_and_slope`` computes it (the ends'
    check needs no slope; on one rollout's arrays every numpy call counts).
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    # np.clip's Python wrapper costs more than the two ufuncs it amounts to.
    point = np.minimum(np.maximum(np.asarray(start, dtype=np.float64), low), high)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Where the function does not cross zero inside the bracket the root is an end; fixing
        # those first spares the steps bisection would need to creep up to an end.
        ends = np.stack(np.broadcast_arrays(low, high, point)[:2])
        at_ends = value(ends) if value is not None else value_and_slope(ends)[0]
        at_low, at_high = at_ends[0] <= 0, at_ends[1] >= 0
        if at_low.any() or at_high.any():
            point = np.where(at_low, low, np.where(at_high, high, point))
            low = np.where(at_high, high, low)
            high = np.where(at_low, low, high)
        for _ in range(_NEWTON_STEPS):
            f, slope = value_and_slope(point)
            # At a root (value 0) the bracket closes on it from above and Newton stays put.
            above = f > 0
            low = np.where(above, point, low)
            high = np.where(above, high, point)
            stepped = point - f / slope
            inside = (stepped >= low) & (stepped <= high)  # NaN is never inside
            following = stepped if inside.all() else np.where(inside, stepped, (low + high) / 2)
            settled = np.abs(following - point) <= 1e-14 * np.abs(following)
            point = following
            if settled.all():
                break
    return np.asarray(point, dtype=np.float64)


def secant_to_rejection(
    excess: Callable[[FloatArray], FloatArray],
    probes: FloatArray,
    values: FloatArray,
    tolerance: FloatArray,
) -> tuple[FloatArray, BoolArray]:
    """The end of a confidence set: a point that rejects, within ``tolerance`` of the first that does.

    ``probes`` (shape ``(k, *shape)``) run from the point that rejects least to the one that
    rejects most along axis 0, and ``values`` are ``excess`` at them: how far past the threshold
    the evidence is (rejecting where ``>= 0``), on a scale nearly linear in the point. The first
    rejecting probe and the one before bracket the end; secant steps shrink the bracket, each
    evaluating its guess and a point a tolerance beyond it towards the rejecting side, so that a
    good guess closes the bracket in one call and a poor one still shrinks it as regula falsi
    would. The answer always is a point whose evidence rejects, so a confidence set that ends
    there contains the exact inversion, whatever the precision. Where no probe rejects, the
    second result is False (and the first the last probe).
    """
    if values[0].size <= _PYTHON_WALK:
        return _secant_in_python(excess, probes, values, np.broadcast_to(tolerance, values.shape[1:]))
    rejected = values >= 0
    first = np.argmax(rejected, axis=0)[None]
    found = np.asarray(rejected.any(axis=0), dtype=np.bool_)
    inner = np.maximum(first - 1, 0)
    a, fa = (np.take_along_axis(v, first, axis=0)[0] for v in (probes, values))
    b, fb = (np.take_along_axis(v, inner, axis=0)[0] for v in (probes, values))
    open_bracket = found & (first[0] > 0)
    for _ in range(_SECANT_STEPS):
        active = open_bracket & (np.abs(b - a) > tolerance)
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = b - fb * (b - a) / (fb - fa)
        towards_a = np.sign(a - b)
        guess = np.where(np.isfinite(secant), secant, (a + b) / 2)
        guess = np.clip(guess - towards_a * tolerance / 2, np.minimum(a, b), np.maximum(a, b))
        trials = np.stack((guess, guess + towards_a * tolerance))
        trials = np.where((trials - a) * (trials - b) < 0, trials, (a + b) / 2)
        trial_values = excess(trials)
        for trial, value in zip(trials, trial_values, strict=True):
            inside = active & ((trial - a) * (trial - b) < 0)
            hit, missed = inside & (value >= 0), inside & (value < 0)
            a, fa = np.where(hit, trial, a), np.where(hit, value, fa)
            b, fb = np.where(missed, trial, b), np.where(missed, value, fb)
    return np.asarray(a, dtype=np.float64), found


def _secant_in_python(
    excess: Callable[[FloatArray], FloatArray],
    probes: FloatArray,
    values: FloatArray,
    tolerance: FloatArray,
) -> tuple[FloatArray, BoolArray]:
    """:func:`secant_to_rejection` for a few ends (one rollout's interval: two), its bracket
    kept in Python floats: the same IEEE operations in the same order as the numpy version, so
    the same bits, without two dozen numpy calls on two numbers per step. ``excess`` is still
    called with the trials shaped as the numpy version shapes them."""
    shape = values.shape[1:]
    columns = values[0].size
    flat_probes = probes.reshape((probes.shape[0], columns)).T.tolist()
    flat_values = values.reshape((values.shape[0], columns)).T.tolist()
    widths = tolerance.reshape(-1).tolist()
    a, fa, b, fb, found, open_bracket = [], [], [], [], [], []
    for column_probes, column_values in zip(flat_probes, flat_values, strict=True):
        rejecting = [index for index, value in enumerate(column_values) if value >= 0]
        first = rejecting[0] if rejecting else 0
        inner = max(first - 1, 0)
        a.append(column_probes[first])
        fa.append(column_values[first])
        b.append(column_probes[inner])
        fb.append(column_values[inner])
        found.append(bool(rejecting))
        open_bracket.append(bool(rejecting) and first > 0)
    for _ in range(_SECANT_STEPS):
        active = [
            is_open and abs(high - low) > width
            for is_open, low, high, width in zip(open_bracket, a, b, widths, strict=True)
        ]
        if not any(active):
            break
        trials: list[list[float]] = [[], []]
        for column in range(columns):
            trial_pair = _secant_trials(a[column], fa[column], b[column], fb[column], widths[column])
            trials[0].append(trial_pair[0])
            trials[1].append(trial_pair[1])
        trial_values = excess(np.asarray(trials, dtype=np.float64).reshape((2, *shape)))
        values_by_trial = np.asarray(trial_values, dtype=np.float64).reshape((2, columns)).tolist()
        for trial_row, value_row in zip(trials, values_by_trial, strict=True):
            for column in range(columns):
                trial, value = trial_row[column], value_row[column]
                if not active[column] or not (trial - a[column]) * (trial - b[column]) < 0:
                    continue
                if value >= 0:
                    a[column], fa[column] = trial, value
                elif value < 0:
                    b[column], fb[column] = trial, value
    return (
        np.asarray(a, dtype=np.float64).reshape(shape),
        np.asarray(found, dtype=np.bool_).reshape(shape),
    )


def _secant_trials(a: float, fa: float, b: float, fb: float, width: float) -> tuple[float, float]:
    """One column's two trials of a secant step, as :func:`secant_to_rejection` computes them
    (numpy's division by zero gives a non-finite secant, hence the bracket's middle)."""
    denominator = fb - fa
    numerator = fb * (b - a)
    secant = math.nan if denominator == 0 else b - numerator / denominator
    difference = a - b
    towards_a = math.nan if math.isnan(difference) else float((difference > 0) - (difference < 0))
    middle = (a + b) / 2
    guess = secant if math.isfinite(secant) else middle
    guess = min(max(guess - towards_a * width / 2, min(a, b)), max(a, b))
    pair = (guess, guess + towards_a * width)
    return (
        pair[0] if (pair[0] - a) * (pair[0] - b) < 0 else middle,
        pair[1] if (pair[1] - a) * (pair[1] - b) < 0 else middle,
    )
