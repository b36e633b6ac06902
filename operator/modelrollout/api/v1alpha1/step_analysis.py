"""What an analysis step (or a BlueGreen analysis stage) runs: which metrics, for how long."""

from __future__ import annotations

from pydantic import Field, field_validator

from ._model import ApiModel, MetricName
from .durations import DURATION_PATTERN


class StepAnalysis(ApiModel):
    """Judge the candidate at the current weights before the next step."""

    metrics: list[MetricName] | None = Field(
        default=None, min_length=1, max_length=16, json_schema_extra={"x-kubernetes-list-type": "set"}
    )
    """Names of `spec.analysis.metrics` to run at this step, each once (at most 16); all of them
    when omitted."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """Overrides `spec.analysis.maxDuration` for this step."""

    @field_validator("metrics")
    @classmethod
    def _metrics_once(cls, metrics: list[str] | None) -> list[str] | None:
        if metrics is not None and len(set(metrics)) != len(metrics):
            raise ValueError("a step names each metric once")
        return metrics
