"""The pydantic validators say what the CRD's CEL rules say, rule by rule, with the same words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import (
    CanaryStrategy,
    FixedTest,
    MetricType,
    ModelRolloutSpec,
    StrategySpec,
    StrategyType,
)
from modelrollout.api.v1alpha1 import crd_rules as rules

from ...fixtures.specs import (
    BASE_SPEC,
    INVALID,
    Invalid,
    ab_segment,
    ab_test,
    auth,
    fixed_metric,
    one_step,
    only_metric,
    patched,
)

UNBREAKABLE_TODAY = set(rules.STRATEGY_BLOCKS_FOR_TYPE) if len(StrategyType) == 1 else set()
"""With one strategy type, no block can be set for another type."""
CEL_MESSAGES = {rule.message for group in rules.RULES.values() for rule in group}


def test_the_base_spec_is_valid() -> None:
    spec = ModelRolloutSpec.model_validate(BASE_SPEC)
    assert spec.candidate is not None and spec.candidate.version == "v8"
    assert [m.type for m in spec.analysis.metrics] == [
        MetricType.LATENCY,
        MetricType.ERROR_RATE,
        MetricType.DRIFT,
        MetricType.CUSTOM,
    ]


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"model": "m", "service": "s", "stable": {"version": "v1"}}, id="stable-only"),
        pytest.param(patched({"strategy": {"canary": {"steps": [{"setWeight": 100}]}}}), id="no-analysis"),
        pytest.param(patched({"analysis": {"interval": "5s", "maxDuration": "5s"}}), id="shortest-interval"),
        pytest.param(
            patched({"analysis": {"interval": "1h", "maxDuration": "1h"}, **one_step({"analysis": {}})}),
            id="longest-interval",
        ),
        pytest.param(patched(only_metric(type="resource", max=0.8)), id="resource-max"),
        pytest.param(patched(only_metric(type="resource", thresholdRange={"max": 2})), id="resource-range"),
        pytest.param(
            patched(only_metric(type="resource", max=0.8, failureThreshold=1)), id="resource-one-look"
        ),
        pytest.param(patched(only_metric(type="errorPattern")), id="error-pattern"),
        pytest.param(
            patched(only_metric(type="errorPattern", patterns=["OOMKilled", "CUDA error: out of memory"])),
            id="error-pattern-chosen",
        ),
        pytest.param(
            patched(
                only_metric(type="errorRate", maxAbsoluteIncrease=0.01, errors={"selector": '{code=~"5.."}'})
            ),
            id="errors-by-selector",
        ),
        pytest.param(
            patched(
                only_metric(
                    type="errorRate", maxAbsoluteIncrease=0.01, errors={"metricName": "x_errors_total"}
                )
            ),
            id="errors-by-counter",
        ),
        pytest.param(
            patched(only_metric(type="errorPattern", requestMetricName="x_requests_total")),
            id="error-pattern-request-counter",
        ),
        pytest.param(patched({"strategy": {"canary": None}, "candidate": None}), id="no-candidate-no-steps"),
        pytest.param(patched(auth(username="user", password="pass")), id="basic-auth"),
        pytest.param(patched(auth(bearerToken="token")), id="bearer-token"),
        pytest.param(
            patched(fixed_metric(type="latency", maxRelativeIncrease=0.1, fixedTest="mannWhitney")),
            id="fixed-mann-whitney",
        ),
        pytest.param(
            patched(fixed_metric(type="errorRate", maxAbsoluteIncrease=0.01, fixedTest="chiSquare")),
            id="fixed-chi-square",
        ),
        pytest.param(patched(fixed_metric(type="errorPattern", fixedTest="gTest")), id="fixed-g-test"),
        pytest.param(patched(fixed_metric(type="latency", maxRelativeIncrease=0.1)), id="fixed-default"),
        pytest.param(
            patched({"analysis": {"scoreThresholds": {"pass": 90, "marginal": 75}}}), id="kayenta-thresholds"
        ),
        pytest.param(patched({"analysis": {"scoreThresholds": {"marginal": 75}}}), id="marginal-only"),
        pytest.param(patched({"analysis": {"scoreThresholds": {"pass": 90}}}), id="pass-only"),
        pytest.param(
            patched({"strategy": {"canary": {"maxSurge": 2, "maxUnavailable": "10%"}}}), id="surge-count"
        ),
        pytest.param(
            patched({"strategy": {"canary": {"maxSurge": "0%", "maxUnavailable": 1}}}), id="no-surge"
        ),
    ],
)
def test_valid_specs_parse(spec: dict[str, Any]) -> None:
    ModelRolloutSpec.model_validate(spec)


@pytest.mark.parametrize("case", INVALID, ids=[case.id for case in INVALID])
def test_pydantic_refuses_what_the_apiserver_refuses(case: Invalid) -> None:
    """Same verdict, and for a CEL rule the same words, as `kubectl apply` (integration test)."""
    spec = patched(case.patch)
    if not case.pydantic:
        ModelRolloutSpec.model_validate(spec)
        return
    with pytest.raises(ValidationError) as raised:
        ModelRolloutSpec.model_validate(spec)
    if case.text in CEL_MESSAGES:
        assert case.text in str(raised.value)


def test_the_cases_are_many_and_distinct() -> None:
    assert len(INVALID) >= 30
    assert len({case.id for case in INVALID}) == len(INVALID)
    assert len({json.dumps([case.patch, case.name], sort_keys=True) for case in INVALID}) == len(INVALID)


def test_every_rule_is_exercised() -> None:
    every = {rule for group in rules.RULES.values() for rule in group} | set(rules.ROOT_RULES)
    exercised = {rule for rule in every if any(case.text == rule.message for case in INVALID)}
    assert every - UNBREAKABLE_TODAY == exercised


def test_a_default_strategy_is_valid_without_a_candidate() -> None:
    """`StrategySpec()` is the field's default: it must construct, or every stable-only spec fails."""
    assert StrategySpec().canary is None
    assert StrategySpec().block(StrategyType.CANARY) is None
    strategy = StrategySpec(canary=CanaryStrategy.model_validate({"steps": [{"setWeight": 10}]}))
    assert strategy.block(StrategyType.CANARY) is strategy.canary


def test_a_step_names_each_metric_once() -> None:
    with pytest.raises(ValidationError, match="each metric once"):
        ModelRolloutSpec.model_validate(patched(one_step({"analysis": {"metrics": ["latency", "latency"]}})))


def test_durations_in_other_units_compare_by_length() -> None:
    ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "0.5m", "maxDuration": "1h30m"}}))
    ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "5000ms", "maxDuration": "5s"}}))
    with pytest.raises(ValidationError, match=rules.INTERVAL_BOUNDS.message):
        ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "4999ms"}}))


def test_the_strategy_block_follows_the_type_name() -> None:
    assert rules.strategy_block(StrategyType.CANARY) == "canary"
    assert {rule.field_path for rule in rules.STRATEGY_BLOCKS_REQUIRED} == {
        f".strategy.{rules.strategy_block(t)}" for t in StrategyType
    }


def test_every_fixed_test_fits_some_metric_type_and_each_type_lists_its_default_first() -> None:
    """The enum lists only tests that work: each one is selectable for some metric type."""
    fitting = {test for tests in rules.FIXED_TESTS.values() for test in tests}
    assert fitting == set(FixedTest)
    assert rules.FIXED_TESTS[MetricType.LATENCY][0] == FixedTest.WELCH
    assert rules.FIXED_TESTS[MetricType.ERROR_RATE][0] == FixedTest.TWO_PROPORTION_Z


def test_the_fixed_test_is_read_into_the_metric() -> None:
    spec = ModelRolloutSpec.model_validate(
        patched(fixed_metric(type="latency", maxRelativeIncrease=0.1, fixedTest="mannWhitney"))
    )
    assert spec.analysis.metrics[0].fixed_test == FixedTest.MANN_WHITNEY
    unset = ModelRolloutSpec.model_validate(patched(fixed_metric(type="latency", maxRelativeIncrease=0.1)))
    assert unset.analysis.metrics[0].fixed_test is None


def test_score_thresholds_read_pass_from_the_wire_name() -> None:
    spec = ModelRolloutSpec.model_validate(
        patched({"analysis": {"scoreThresholds": {"pass": 90, "marginal": 75}}})
    )

    thresholds = spec.analysis.score_thresholds
    assert thresholds is not None and (thresholds.passing, thresholds.marginal) == (90, 75)
    assert spec.model_dump(by_alias=True)["analysis"]["scoreThresholds"] == {"pass": 90, "marginal": 75}


def test_marginal_defaults_to_pass() -> None:
    spec = ModelRolloutSpec.model_validate(patched({"analysis": {"scoreThresholds": {"pass": 90}}}))

    thresholds = spec.analysis.score_thresholds
    assert thresholds is not None and thresholds.fail_below == 90


def test_parameters_are_short_scalars_under_short_names() -> None:
    """The CRD bounds each value (`maxLength`, `maxProperties: 0`, `maxItems: 0`); CEL cannot read
    such a map, so a name's length is checked here only, and the operator reports InvalidSpec."""
    flat = {"learningRate": 0.01, "epochs": 30, "frozen": True, "artefact": "s3://" + "a" * 251, "none": None}
    ModelRolloutSpec.model_validate(patched({"candidate": {"parameters": flat}}))
    for parameters in ({"n" * 64: 1}, {"optimizer": {"name": "adam"}}, {"artefact": "a" * 257}):
        with pytest.raises(ValidationError, match="parameters maps names of at most 63 characters"):
            ModelRolloutSpec.model_validate(patched({"candidate": {"parameters": parameters}}))


def test_an_ab_test_with_a_goal_and_guardrails_is_valid() -> None:
    spec = ModelRolloutSpec.model_validate(patched(ab_test(split=20, duration="2h")))
    assert spec.strategy.ab_test is not None and spec.strategy.ab_test.split == 20
    assert spec.strategy.block(StrategyType.AB_TEST) is spec.strategy.ab_test
    goal = spec.analysis.metrics[0].goal
    assert goal is not None and goal.min_effect == 0.0


def test_an_ab_test_without_a_candidate_needs_no_goal() -> None:
    bare = patched({**ab_test(), "candidate": None, "analysis": {"metrics": []}})
    ModelRolloutSpec.model_validate(bare)


def test_an_ab_test_on_a_segment_runs_the_segments_header_route_then_the_test() -> None:
    beta = {"headerName": "x-beta", "headerValue": {"exact": "true"}}
    spec = ModelRolloutSpec.model_validate(patched(ab_segment(beta, duration="1h")))
    ab = spec.strategy.ab_test
    assert ab is not None and ab.share is None and ab.split is None
    route, analysis = spec.strategy.run_steps()
    assert route.set_weight is None and route.set_header_route is not None
    assert route.set_header_route.model_dump(by_alias=True, exclude_none=True) == {
        "name": "ab-test",
        "match": [beta],
    }
    assert analysis.analysis is not None and analysis.analysis.max_duration == "1h"
    cookie = {"cookie": {"name": "cohort", "value": "b"}}
    ModelRolloutSpec.model_validate(patched(ab_segment(cookie, beta, traffic={"provider": "router"})))


def test_an_ab_test_without_split_or_segment_splits_half_and_half() -> None:
    spec = ModelRolloutSpec.model_validate(patched(ab_test()))
    assert spec.strategy.ab_test is not None and spec.strategy.ab_test.share == 50
    assert [step.set_weight for step in spec.strategy.run_steps()] == [50, None]


def test_a_bandit_through_the_router_runs_a_weight_step_then_the_bandit() -> None:
    from ...fixtures.specs import bandit

    spec = ModelRolloutSpec.model_validate(patched(bandit(maxStep=30, stableFloor=20, maxDuration="1h")))
    steps = spec.strategy.run_steps()
    assert [step.set_weight for step in steps] == [30, None]
    assert steps[1].analysis is not None and steps[1].analysis.max_duration == "1h"
    assert spec.strategy.bandit is not None and spec.strategy.bandit.stop_probability == 0.95
    small = ModelRolloutSpec.model_validate(patched(bandit(maxStep=80, stableFloor=70)))
    assert small.strategy.run_steps()[0].set_weight == 30, "the stable keeps its floor from the start"
