"""The rollout state machine: (spec, status, observations, now) -> next status + actions. Pure.

The controller's side of the contract, once per reconcile:
1. Observe: the owned Deployments by version, the Service, a dry-run of a not-yet-created
   candidate, the action annotation (`ManualAction.parse`), the `dependsOn` state, and the plan
   `ReplicaPlan(status.weights, router.replica_plan(status.weights, spec.replicas))`.
2. If `analysis_due(spec, status, now)`, run one interval over `analysis_window(...)` and pass
   the judgement with `evaluated_at` = the window's end. Windows end on the epoch's grid of
   `analysis.interval`; the last ends at `analysis_final_look`, and `decide` applies
   `onInconclusive` only once that window has been judged.
3. `decision = decide(spec, status, observations, now)`.
4. Merge the `RecordLineage` facts into `decision.status.lineage` and write the status first,
   then apply the other actions in order (Ensure, ApplyWeights, Retire, Prune), then the Events.
   Writing first makes a crash in between harmless: the next call sees the cluster behind the
   status and asks for the same actions again, while a transition is never announced twice.
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
from .machine import decide
from .timing import analysis_deadline, analysis_due, analysis_final_look, analysis_window
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
    "analysis_final_look",
    "analysis_window",
    "decide",
]
