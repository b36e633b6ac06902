"""The rollout state machine: (spec, status, observations, now) -> next status + actions. Pure."""

from .actions import (
    Action,
    ApplyWeights,
    Decision,
    EmitEvent,
    EnsureVersion,
    PruneVersions,
    RecordLineage,
    RetireVersion,
)
from .machine import decide
from .timing import analysis_deadline, analysis_due, analysis_window
from .types import (
    ActionVerb,
    AnalysisObservation,
    DeploymentState,
    ManualAction,
    Observations,
    ReplicaPlan,
    RolloutOutcome,
    UpstreamState,
)

__all__ = [
    "Action",
    "ActionVerb",
    "AnalysisObservation",
    "ApplyWeights",
    "Decision",
    "DeploymentState",
    "EmitEvent",
    "EnsureVersion",
    "ManualAction",
    "Observations",
    "PruneVersions",
    "RecordLineage",
    "ReplicaPlan",
    "RetireVersion",
    "RolloutOutcome",
    "UpstreamState",
    "analysis_deadline",
    "analysis_due",
    "analysis_window",
    "decide",
]
