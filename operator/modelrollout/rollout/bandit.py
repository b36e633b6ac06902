"""The bandit: Thompson sampling sets the weights every interval, within one analysis step.

A bandit runs as two steps of the canary machinery (`StrategySpec.run_steps`): a weight step to
the policy's first split, then an analysis step that lasts until the bandit stops (or its
`maxDuration`). So promotion, rollback, abort, pause, resume, events and lineage are the
canary's own transitions. What is the bandit's own:

* how a judgement is read (`read_bandit`, before the steps run): each interval's counts go
  through the pure policy (`analysis.bandit`) with the weights in force. A stop on the candidate
  is the step's Pass (promote); a stop on the stable is its Fail (`onFailure`, rollback by
  default); anything else is Inconclusive, even when the guardrails pass, since only the stop
  rule ends a bandit. A guardrail's Fail stays a Fail: it ends the bandit at once;
* the weights between two intervals (`steer_bandit`, after the steps ran): the weights of the
  decision the read made (carried in the judgement, so the policy runs once per interval),
  reached by the same capacity move as a weight step (within `progressDeadline`), then served;
* `status.bandit`.

The decision is a function of the counters Prometheus holds and of the weights in force, both
of which survive a restart, so a restarted operator decides exactly as the first would have.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING

from ..api.v1alpha1 import (
    BanditArm,
    BanditStatus,
    BanditStrategy,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Phase,
    StrategyType,
    Verdict,
    format_percent,
    format_timestamp,
    parse_timestamp,
)
from ._decision_state import Run
from .capacity import move_capacity
from .experiment_end import experiment_decision, shown_candidate
from .observations import AnalysisObservation, Observations
from .steps import wait_for_capacity
from .transitions import describe_step

if TYPE_CHECKING:
    from ..analysis import ArmCounts, BanditDecision, BanditSettings

__all__ = ["BANDIT_STEP", "read_bandit", "steer_bandit"]

BANDIT_STEP = 1
"""The index of the bandit's analysis step (after the weight step)."""


def _strategy(spec: ModelRolloutSpec) -> BanditStrategy | None:
    return spec.strategy.bandit if spec.strategy.type == StrategyType.BANDIT else None


def _settings(bandit: BanditStrategy) -> BanditSettings:
    from ..analysis import BanditSettings  # scipy loads only where a bandit runs (not in the CLI)

    return BanditSettings(
        stable_floor=float(bandit.stable_floor),
        max_step=float(bandit.max_step),
        stop_probability=bandit.stop_probability,
        min_feedback=float(bandit.min_rewards),
        # the two floors together leave room for every weight (a floor of 90 leaves 10 to explore)
        exploration_floor=float(min(bandit.exploration_floor, 100 - bandit.stable_floor)),
        prior_alpha=bandit.prior.alpha,
        prior_beta=bandit.prior.beta,
    )


def _decide(
    bandit: BanditStrategy, status: ModelRolloutStatus, counts: tuple[ArmCounts, ...]
) -> BanditDecision:
    """The policy's decision on `counts` from the weights served when they were counted."""
    from ..analysis import bandit_decision

    previous = {version: float(weight) for version, weight in status.weights.items()}
    return bandit_decision(counts, previous, _settings(bandit))


def _split(decision: BanditDecision) -> str:
    return " / ".join(f"{arm.version} {format_percent(Fraction(arm.weight))}%" for arm in decision.arms)


def read_bandit(
    spec: ModelRolloutSpec, status: ModelRolloutStatus, observations: Observations
) -> Observations:
    """`observations` with its judgement read as the bandit reads it (see the module)."""
    bandit = _strategy(spec)
    judged = observations.analysis
    candidate = status.candidate_version
    if bandit is None or judged is None or candidate is None or not _fresh(status, judged):
        return observations  # not a bandit's interval, or one the step has already taken
    read: AnalysisObservation
    if judged.bandit is None:
        if judged.verdict == Verdict.FAIL:
            return observations
        message = "bandit: no counters this interval, the weights hold"
        read = replace(judged, verdict=Verdict.INCONCLUSIVE, message=_joined(message, judged))
        return replace(observations, analysis=read)
    decision = _decide(bandit, status, judged.bandit)
    if judged.verdict == Verdict.FAIL:  # a guardrail failed: onFailure, whatever the bandit says
        return replace(observations, analysis=replace(judged, bandit_decision=decision))
    if decision.stop and decision.winner == candidate:
        verdict, message = Verdict.PASS, f"bandit stopped: {decision.message}; promoting {candidate}"
    elif decision.stop:
        verdict, message = Verdict.FAIL, f"bandit stopped: {decision.message}; {candidate} lost"
    else:
        verdict, message = Verdict.INCONCLUSIVE, f"bandit: {decision.message}; next {_split(decision)}"
    read = replace(judged, verdict=verdict, message=_joined(message, judged), bandit_decision=decision)
    return replace(observations, analysis=read)


def _joined(message: str, judged: AnalysisObservation) -> str:
    """The bandit's word, then the guardrails' (when there are any)."""
    return f"{message}. Guardrails: {judged.message}" if judged.metrics and judged.message else message


def steer_bandit(run: Run) -> None:
    """`status.bandit` after this call, and the decision's weights moved to while the bandit runs."""
    bandit = _strategy(run.spec)
    candidate = shown_candidate(run)
    if bandit is None or candidate is None:
        return  # a finished bandit's status stays readable
    status = run.status
    current = status.bandit if status.bandit is not None and status.bandit.candidate == candidate else None
    current = current or BanditStatus(candidate=candidate)
    judged = run.observations.analysis
    decision = judged.bandit_decision if judged is not None else None
    if judged is not None and decision is not None and _taken(run, judged):
        current = _status(candidate, decision, current, format_timestamp(judged.evaluated_at))
    current.decision = _outcome(run, candidate, current)
    status.bandit = current
    running = status.phase == Phase.PROGRESSING and run.candidate is not None
    if running and (status.current_step or 0) == BANDIT_STEP and current.weights:
        _move(run, candidate, Fraction(current.weights.get(candidate, 0.0)).limit_denominator(10))


def _fresh(status: ModelRolloutStatus, judged: AnalysisObservation) -> bool:
    """`judged` is one the bandit's step can take in (`steps._take_judgement`): it is newer than
    the step's start and its last judgement. Only such a judgement is decided on."""
    analysis = status.analysis
    if analysis is None or (status.current_step or 0) != BANDIT_STEP:
        return False
    started, last = parse_timestamp(analysis.started_at), parse_timestamp(analysis.last_run)
    return (
        started is not None and judged.evaluated_at > started and (last is None or judged.evaluated_at > last)
    )


def _taken(run: Run, judged: AnalysisObservation) -> bool:
    """This call took `judged` in at the bandit's step: it was fresh, and the step recorded it,
    or ended on it."""
    if not _fresh(run.before, judged):
        return False
    after = run.status.analysis
    recorded = after is not None and after.last_run == format_timestamp(judged.evaluated_at)
    return recorded or run.status.current_step != run.before.current_step


def _status(candidate: str, decision: BanditDecision, before: BanditStatus, at: str) -> BanditStatus:
    arms = [
        BanditArm(
            version=arm.version,
            weight=arm.weight,
            alpha=arm.alpha,
            beta=arm.beta,
            mean=arm.mean,
            low=arm.low,
            high=arm.high,
            probability_best=arm.probability_best,
            pulls=arm.pulls,
            rewards=arm.feedback,
            successes=arm.rewards,
        )
        for arm in decision.arms
    ]
    return BanditStatus(
        candidate=candidate,
        arms=arms,
        winner=decision.winner,
        weights=decision.weights,
        expected_regret=decision.expected_regret,
        intervals=before.intervals + 1,
        last_decision=at,
        message=decision.message,
    )


def _outcome(run: Run, candidate: str, current: BanditStatus) -> str:
    status = run.status
    reached = None
    if current.winner is not None:
        reached = "CandidateBest" if current.winner == candidate else "StableBest"
    elif status.analysis is not None and status.analysis.verdict == Verdict.FAIL:
        # a guardrail's Fail once the rollout has acted on it (whatever became of it after)
        reached = "GuardrailFailed" if status.phase != Phase.PROGRESSING else None
    # no stop by maxDuration (onInconclusive), or promoted without one (promote-full): NoStop
    return experiment_decision(run, candidate, reached, without_verdict="NoStop")


def _move(run: Run, candidate: str, target: Fraction) -> None:
    """Capacity to the decision's weights (surge first, as a weight step); served once in place.
    Pods that never come are a weight step's problem too: `progressDeadline`, then `onFailure`."""
    status = run.status
    if target == status.candidate_weight:
        return
    growing = candidate if target > status.candidate_weight else run.stable
    move = move_capacity(run, run.weights_for(target), growing)
    if move.done:
        run.set_candidate_weight(target)
        return
    doing = f"bandit moving {candidate} to {format_percent(target)}%"
    wait_for_capacity(run, BANDIT_STEP, describe_step(run, BANDIT_STEP), move.waiting_for, doing)
