"""`decide`: the rollout state machine, one pure function.

Phases (`status.phase`):
- Pending: nothing is rolling out yet: the stable is still coming up, a problem stands (a
  missing Service, an invalid template, a dependency cycle or a missing dependency: see the
  Degraded condition), or an upstream model is mid-rollout (WaitingForDependency).
- Promoted: the steady state. The stable serves all traffic and no candidate is under way,
  either because a rollout ended in a promotion or because none was asked for (the Progressing
  condition says which: Promoted or NoCandidate).
- Progressing / Paused: the candidate runs the canary steps (Paused: a pause step, a manual
  pause, `spec.paused`, a blocking or failed upstream, or an analysis waiting for a person).
- Promoting: all steps done (or `promote-full`); the candidate goes to full size while the
  stable is held, then becomes the stable: Promoted.
- RollingBack -> RolledBack: the candidate goes to zero weight and zero replicas; final until
  `retry` or a new candidate. An `undo` from Promoted gets here too: the version that served
  becomes the candidate, Undone, and an earlier good one the stable (`undo`).

Each call: take a new manual action once, follow the spec's candidate (supersede, start), run
the current phase, refresh conditions, then turn the wanted state into actions.
"""

from __future__ import annotations

from datetime import datetime

from ..api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus, Outcome, Phase, Reason
from ._decision_state import (
    ACTIVE_PHASES,
    DEPENDENCY_POLL_SECONDS,
    PROBLEM_RECHECK_SECONDS,
    WAIT_POLL_SECONDS,
    Problem,
    Run,
)
from .abtest import ab_test_status, read_judgement
from .actions import Decision
from .bandit import read_bandit, steer_bandit
from .conditions import refresh_conditions
from .effects import converge, stable_template
from .interleaved import interleaved_status, interleaving_in_force
from .manual import fresh_action, take_action
from .observations import Observations
from .route_steps import settle_routes
from .shadow import shadow_status
from .steps import progress
from .transitions import release_candidate, start_rollout, supersede
from .undo import undoing

__all__ = ["decide"]


def decide(
    spec: ModelRolloutSpec, status: ModelRolloutStatus, observations: Observations, now: datetime
) -> Decision:
    """The next status and the actions to reach it. Pure and idempotent: called again with its
    own result and the same observations it changes nothing and announces nothing."""
    run = Run(spec, status, read_judgement(spec, status, read_bandit(spec, status, observations)), now)
    run.status.observed_generation = observations.generation
    if run.status.stable_version is None:
        run.status.stable_version = spec.stable.version
        run.record(spec.stable.version, Outcome.STABLE, parameters=spec.stable.parameters)
    run.problem = _find_problem(run)
    if not run.status.weights and (run.problem is None or not run.problem.workloads_wait):
        run.set_candidate_weight(run.status.candidate_weight)
    action = fresh_action(run)
    if action is not None:
        take_action(run, action)
    _follow_candidate(run)
    if run.status.phase in ACTIVE_PHASES:
        progress(run)
    else:
        _settle(run)
    steer_bandit(run)  # a bandit's weights move between its intervals
    settle_routes(run)  # header routes, mirrors and a canary scale stand only while steps run
    interleaving_in_force(run)  # the router merges both rankings only while the experiment runs
    if run.capacity is None:
        run.status.progress_started_at = None  # the deadline counts only while capacity moves
    if run.status.phase not in (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING):
        run.status.blue_green = None  # a BlueGreen rollout's stage lasts as long as it runs
    run.status.ab_test = ab_test_status(run)
    run.status.interleaved = interleaved_status(run)
    run.status.shadow = shadow_status(run)
    refresh_conditions(run)
    actions = converge(run)
    return Decision(
        status=run.status,
        actions=(*actions, *run.lineage, *run.events),
        requeue_after=run.requeue_after(),
    )


def _find_problem(run: Run) -> Problem | None:
    """What blocks forward progress until a person acts; traffic is left as it is."""
    observed = run.observations
    spec = run.spec
    if not observed.service_exists:
        return Problem(Reason.SERVICE_NOT_FOUND, f"Service {spec.service!r} not found")
    if observed.route_problem is not None:
        return Problem(*observed.route_problem, workloads_wait=False)
    upstream = observed.upstream
    if upstream.cycle:
        return Problem(Reason.DEPENDENCY_CYCLE, f"dependsOn forms a cycle: {upstream.cycle}")
    if upstream.missing:
        missing = ", ".join(upstream.missing)
        return Problem(Reason.DEPENDENCY_NOT_FOUND, f"no ModelRollout declares the model(s) {missing}")
    if not observed.deployment(run.stable).exists and stable_template(run) is None:
        return Problem(
            Reason.STABLE_UNAVAILABLE,
            f"the stable version {run.stable} has no Deployment and spec.stable.template is not set",
        )
    desired = run.desired_candidate()
    if desired is not None and observed.template_error:
        return Problem(Reason.INVALID_TEMPLATE, f"candidate {desired}: {observed.template_error}")
    wanted = spec.candidate
    lacks_template = wanted is not None and wanted.template is None
    if desired is not None and lacks_template and not observed.deployment(desired).exists:
        return Problem(Reason.INVALID_TEMPLATE, f"candidate {desired}: spec.candidate.template is not set")
    return None


def _follow_candidate(run: Run) -> None:
    """A running candidate the spec no longer names is stopped; a finished one is let go; a new
    one starts when nothing blocks it."""
    desired = run.desired_candidate()
    current = run.candidate
    if undoing(run):
        return  # capacity is moving back from the undone version: superseding it would drop it at once
    if current is not None and current != desired:
        if run.status.phase in ACTIVE_PHASES:
            supersede(run, desired)
        elif desired is not None:
            release_candidate(run)
    if run.candidate is None and desired is not None:
        _try_start(run, desired)


def _try_start(run: Run, candidate: str) -> None:
    if run.problem is not None:
        message = f"{candidate} waits: {run.problem.message}"
        run.set_phase(Phase.PENDING, run.problem.reason, message, quiet=True)
        run.requeue(PROBLEM_RECHECK_SECONDS)
        return
    if not run.observations.deployment(run.stable).serving:
        message = f"{candidate} waits for the stable version {run.stable} to be Available"
        run.set_phase(Phase.PENDING, Reason.STABLE_UNAVAILABLE, message)
        run.requeue(WAIT_POLL_SECONDS)
        return
    blocking = run.observations.upstream.blocking_models
    if blocking:
        message = f"{candidate} waits for the rollout of upstream {', '.join(blocking)} to finish"
        run.set_phase(Phase.PENDING, Reason.WAITING_FOR_DEPENDENCY, message, announce_reason=True)
        run.requeue(DEPENDENCY_POLL_SECONDS)
        return
    start_rollout(run, candidate)
    progress(run)


def _settle(run: Run) -> None:
    """No rollout under way: Pending becomes Promoted once the stable serves at full size."""
    status = run.status
    if status.phase == Phase.ROLLED_BACK or run.candidate is not None or run.desired_candidate() is not None:
        return
    if status.phase == Phase.PROMOTED:
        return
    if run.problem is not None:
        run.set_phase(Phase.PENDING, run.problem.reason, f"waiting: {run.problem.message}", quiet=True)
        run.requeue(PROBLEM_RECHECK_SECONDS)
        return
    plan = run.observations.planned_replicas(status.weights)
    planned = plan.get(run.stable) if plan is not None else None
    if planned is not None and run.observations.deployment(run.stable).ready_for(planned):
        run.set_phase(Phase.PROMOTED, Reason.STABLE_AVAILABLE, f"{run.stable} serves all traffic")
        return
    run.set_phase(Phase.PENDING, Reason.STABLE_UNAVAILABLE, f"waiting for {run.stable} to be Available")
    run.requeue(WAIT_POLL_SECONDS)
