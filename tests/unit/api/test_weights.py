"""Weights to 0.1%: `setWeight: 0.5` is a valid step, anything finer is refused with the CEL rule's
words, the operator holds weights as exact fractions, and status writes whole weights as integers
(`25`, not `25.0`) and the others as one decimal (`0.5`)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus, as_percent, format_percent
from modelrollout.api.v1alpha1 import crd_rules as rules

from ...fixtures.specs import DECIMAL_WEIGHTS, one_step, patched


@pytest.mark.parametrize("weight", DECIMAL_WEIGHTS)
def test_a_step_takes_tenths_of_a_percent_exactly(weight: float) -> None:
    spec = ModelRolloutSpec.model_validate(patched(one_step({"setWeight": weight})))
    assert spec.strategy.canary is not None
    step = spec.strategy.canary.steps[0]
    assert step.set_weight == Fraction(round(weight * 10), 10)
    written = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert written["strategy"]["canary"]["steps"][0]["setWeight"] == weight


@pytest.mark.parametrize("weight", [0.05, 0.15, 12.34, 99.95, 100.1, -0.1, True, "half"])
def test_a_step_finer_than_a_tenth_is_refused_with_the_cel_message(weight: object) -> None:
    with pytest.raises(ValidationError) as raised:
        ModelRolloutSpec.model_validate(patched(one_step({"setWeight": weight})))
    assert rules.PERCENT_TENTHS.message in str(raised.value)
    assert (
        rules.PERCENT_TENTHS.message
        == "setWeight is a percent from 0 to 100 in steps of 0.1, such as 5 or 0.5"
    )


def test_whole_weights_stay_integers_on_the_wire() -> None:
    status = ModelRolloutStatus.model_validate(
        {"candidateWeight": 25, "weights": {"v1": 75, "v2": 25}, "effectiveWeights": {"v1": 75, "v2": 25}}
    )
    text = status.model_dump_json(by_alias=True)
    assert '"candidateWeight":25,' in text and '"weights":{"v1":75,"v2":25}' in text
    assert ModelRolloutStatus().model_dump(by_alias=True, mode="json")["candidateWeight"] == 0


def test_decimal_weights_are_written_with_one_place_and_read_back_exactly() -> None:
    status = ModelRolloutStatus.model_validate({"weights": {"v1": Fraction(199, 2), "v2": Fraction(1, 2)}})
    written = json.loads(status.model_dump_json(by_alias=True))
    assert written["weights"] == {"v1": 99.5, "v2": 0.5}
    again = ModelRolloutStatus.model_validate(written)
    assert again.weights == {"v1": Fraction(199, 2), "v2": Fraction(1, 2)}
    assert sum(again.weights.values()) == 100, "exact: no float drift"
    thirds = ModelRolloutStatus.model_validate({"weights": {"a": 33.3, "b": 33.3, "c": 33.4}})
    assert sum(thirds.weights.values()) == 100


def test_weights_read_and_shown_as_percent() -> None:
    assert [as_percent(v) for v in (0.1, "0.3", 5, Fraction(1, 2))] == [
        Fraction(1, 10), Fraction(3, 10), Fraction(5), Fraction(1, 2),
    ]  # fmt: skip
    assert [format_percent(v) for v in (Fraction(1, 2), Fraction(25), 100, Fraction(999, 10))] == [
        "0.5", "25", "100", "99.9",
    ]  # fmt: skip
