"""What every experiment the model router runs (Shadow, Bandit, Interleaved) asks of the rest of
the spec, checked for pydantic as its CEL rules check it for the apiserver: its evidence comes from
the router's series, so a rollout with a candidate needs `analysis.prometheus`, and its
`maxDuration` must leave room for at least one interval to be read."""

from __future__ import annotations

from ._model import require
from .analysis_spec import AnalysisSpec
from .cel import CelRule
from .durations import parse_duration

__all__ = ["check_experiment_bounds"]


def check_experiment_bounds(
    max_duration: str | None,
    analysis: AnalysisSpec,
    has_candidate: bool,
    needs_prometheus: CelRule,
    covers_interval: CelRule,
) -> None:
    """Raise the experiment's own rule (`needs_prometheus`, `covers_interval`) that the spec breaks."""
    require(not has_candidate or analysis.prometheus is not None, needs_prometheus)
    covers = max_duration is None or parse_duration(max_duration) >= parse_duration(analysis.interval)
    require(covers, covers_interval)
