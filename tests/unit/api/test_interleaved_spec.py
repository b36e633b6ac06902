"""`strategy.type: Interleaved`: its block, its defaults, the steps it runs and what it overrides."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import (
    InconclusivePolicy,
    ModelRolloutSpec,
    SetCanaryScale,
    StepAnalysis,
    StrategyType,
    TrafficProvider,
)

from ...fixtures.specs import interleaved, patched


def test_an_interleaved_experiment_through_the_router_is_valid_with_its_defaults() -> None:
    spec = ModelRolloutSpec.model_validate(patched(interleaved()))
    strategy = spec.strategy
    assert strategy.type == StrategyType.INTERLEAVED and strategy.traffic.provider == TrafficProvider.ROUTER
    block = strategy.interleaved
    assert block is not None
    assert (block.list_field, block.length, block.min_impressions) == ("ranking", 10, 100)
    assert block.alpha is None and block.max_duration is None and block.on_inconclusive is None
    assert strategy.on_inconclusive() is None


def test_it_runs_the_candidate_at_full_size_then_one_analysis_step_bounded_by_its_max_duration() -> None:
    spec = ModelRolloutSpec.model_validate(patched(interleaved(maxDuration="20m", onInconclusive="rollback")))
    steps = spec.strategy.run_steps()
    assert [step.set_canary_scale for step in steps] == [SetCanaryScale(weight=100), None]
    assert [step.analysis for step in steps] == [None, StepAnalysis(max_duration="20m")]
    assert spec.strategy.analysis_at(1) == StepAnalysis(max_duration="20m")
    assert spec.strategy.on_inconclusive() == InconclusivePolicy.ROLLBACK


def test_it_needs_no_metric_of_its_own_and_keeps_the_metrics_as_guardrails() -> None:
    only_guardrails = patched(
        {
            **interleaved(),
            "analysis": {"metrics": [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}]},
        }
    )
    spec = ModelRolloutSpec.model_validate(only_guardrails)
    assert [metric.name for metric in spec.analysis.metrics] == ["errors"]
    no_metrics = patched({**interleaved(), "analysis": {"metrics": []}})
    assert ModelRolloutSpec.model_validate(no_metrics).analysis.metrics == []


def test_without_a_candidate_the_block_may_wait() -> None:
    spec = patched({"strategy": {"type": "Interleaved", "canary": None, "traffic": {"provider": "router"}}})
    spec["candidate"] = None
    assert ModelRolloutSpec.model_validate(spec).strategy.run_steps() == []
