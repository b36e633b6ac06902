"""The rollout state machine: (spec, status, observations, now) -> next status + actions. Pure.

The controller's side of the contract, once per reconcile:
1. Observe: the owned Deployments by version, the Service, a dry-run of a not-yet-created
   candidate, the action annotation (`ManualAction.parse`), the `dependsOn` state, and the
   planner `lambda weights: router.replica_plan(weights, spec.replicas)`.
2. If `analysis_due(spec, status, now)`, run one interval over `analysis_window(...)` and pass
   the judgement with `evaluated_at` = the window's end. Windows end on the epoch's grid of
   `analysis.interval`; the last ends at `analysis_final_look`, and `decide` applies
   `onInconclusive` only once that window has been judged.
3. `decision = decide(spec, status, observations, now)`.
4. Merge the `RecordLineage` facts into `decision.status.lineage`, stage the Events where a
   restarted controller finds them, write the status, apply the other actions in order
   (Ensure, ApplyWeights, Retire, Prune), then post the Events under names of their own.
   Writing first makes a crash in between harmless: the next call sees the cluster behind the
   status and asks for the same actions again, never deciding the transition a second time;
   the staged Events are posted then (once) if the status written is the one they belong to.
5. Requeue after `decision.requeue_after` seconds (None: only on change).
"""

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
from .conditions import ConditionStatus, put_condition
from .machine import decide
from .manual import preview_action
from .observations import (
    ActionVerb,
    AnalysisObservation,
    DeploymentState,
    ManualAction,
    Observations,
    ReplicaPlanner,
    RolloutOutcome,
    UpstreamState,
)
from .timing import analysis_deadline, analysis_due, analysis_final_look, analysis_window

__all__ = [
    "Action",
    "ActionVerb",
    "AnalysisObservation",
    "ApplyWeights",
    "ConditionStatus",
    "Decision",
    "DeploymentState",
    "EmitEvent",
    "EnsureVersion",
    "ManualAction",
    "Observations",
    "PruneVersions",
    "RecordLineage",
    "ReplicaPlanner",
    "RetireVersion",
    "RolloutOutcome",
    "UpstreamState",
    "analysis_deadline",
    "analysis_due",
    "analysis_final_look",
    "analysis_window",
    "decide",
    "preview_action",
    "put_condition",
]
