"""The absolute margin's evidence is a lower bound over the stable rate's whole confidence band.

The bound takes each part of the e-value at its own worst end of the band; it is only valid if
no stable rate inside the band gives a smaller average. A dense grid over the band stands in for
"every rate inside it".
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrollout.analysis.evidence import binomial_confidence_sequence
from modelrollout.analysis.rates import (
    CONDITIONAL_WEIGHT,
    NUISANCE_ALPHA_SHARE,
    _absolute_evidence,
    _conditional_at,
    _own_at,
)

ALPHA = 0.05
GRID_POINTS = 1500
ROUNDING = 1e-9
WOBBLE = 1e-2
"""Log e-value by which a part may sit below its worst end where it shows no evidence (an e-value
of about 1 or less): scipy's incomplete beta is good to a few thousandths there (seen: 0.008 on
shares within 1e-9 of 1, 0.004 at a log e-value of -5.9). It never decides anything, and
wherever the bound shows real evidence no tolerance beyond rounding is allowed."""
EVIDENT = 1.0


def _band_minimum(x_s: float, n_s: float, x_c: float, n_c: float, allowed: float) -> tuple[float, float]:
    """Smallest weighted average over a dense grid of the band, for Fail and for Pass."""
    low, high = (float(end) for end in binomial_confidence_sequence(x_s, n_s, ALPHA * NUISANCE_ALPHA_SHARE))
    # Where the band reaches zero the grid starts a billion times below its top: nearer to zero
    # the null share rounds to 1 and the beta functions lose all precision.
    bottom = low if low > 0 else high * 1e-9
    stable_rates = np.exp(np.linspace(math.log(bottom), math.log(high), GRID_POINTS))
    stable_rates[0], stable_rates[-1] = bottom, high

    def filled(value: float) -> np.ndarray:
        return np.full(stable_rates.shape, value)

    minima = []
    for direction in ("greater", "less"):
        conditional = _conditional_at(
            filled(x_s), filled(n_s), filled(x_c), filled(n_c), stable_rates, allowed, direction
        )
        own = _own_at(filled(x_c), filled(n_c), stable_rates + allowed, direction)
        average = np.logaddexp(
            math.log(CONDITIONAL_WEIGHT) + conditional, math.log1p(-CONDITIONAL_WEIGHT) + own
        )
        minima.append(float(average.min()))
    return minima[0], minima[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stable_exposure=st.integers(10, 200_000),
    candidate_exposure=st.integers(10, 200_000),
    log10_stable_rate=st.floats(-4.5, -0.5),
    log10_margin=st.floats(-4.0, -1.0),
    excess_in_margins=st.floats(0.0, 2.5),
)
def test_absolute_evidence_never_exceeds_its_minimum_over_the_band(
    stable_exposure: int,
    candidate_exposure: int,
    log10_stable_rate: float,
    log10_margin: float,
    excess_in_margins: float,
) -> None:
    allowed = 10**log10_margin
    stable_rate = 10**log10_stable_rate
    candidate_rate = min(stable_rate + excess_in_margins * allowed, 0.99)
    x_s = float(math.floor(stable_rate * stable_exposure))
    x_c = float(math.floor(candidate_rate * candidate_exposure))
    n_s, n_c = float(stable_exposure), float(candidate_exposure)
    fail, within = _absolute_evidence(
        np.asarray(x_s), np.asarray(n_s), np.asarray(x_c), np.asarray(n_c), allowed, ALPHA
    )
    fail_minimum, within_minimum = _band_minimum(x_s, n_s, x_c, n_c, allowed)
    for bound, minimum in ((float(fail), fail_minimum), (float(within), within_minimum)):
        assert bound <= minimum + (ROUNDING if bound >= EVIDENT else WOBBLE)
