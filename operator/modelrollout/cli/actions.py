"""`promote [--full]`, `abort`, `pause`, `resume`, `retry`: each writes the
`modelrollout.io/action: <verb>:<nonce>` annotation with a fresh nonce, which the operator
applies once (rollout/manual.py), so nobody writes a nonce by hand.

A verb the operator would ignore in the rollout's current state (a promote with nothing
rolling out, a retry of a rollout that was not rolled back...) is refused here, before the
write, with the operator's own reason: otherwise it would only show up later as an
ActionIgnored Warning Event. The operator still decides: the state may change between the
read and its reconcile, and `status` shows `lastAction` with what it did.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from ..api.v1alpha1 import ANNOTATION_ACTION, Reason
from . import kube
from .common import EXIT_OK, CliError, Obj, add_cluster_options, status_of

VERBS = ("promote", "abort", "pause", "resume", "retry")
_STEPPING = ("Progressing", "Paused")
_RESUMABLE = frozenset(
    reason.value
    for reason in (
        Reason.PAUSED_BY_STEP, Reason.PAUSED_BY_USER, Reason.PAUSED_INCONCLUSIVE,
        Reason.PAUSED_ON_FAILURE, Reason.PROGRESS_DEADLINE_EXCEEDED,
    )
)  # fmt: skip
"""The pauses the operator's `resume` ends (rollout/manual.py)."""
_HELP = {
    "promote": "complete the current step (--full: skip the remaining steps and promote)",
    "abort": "roll the candidate back to the stable now",
    "pause": "hold the rollout at its current step",
    "resume": "continue a paused rollout (restarts a paused analysis)",
    "retry": "roll a rolled back candidate out again from the first step",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for verb in VERBS:
        parser = commands.add_parser(verb, help=_HELP[verb], description=_HELP[verb])
        parser.add_argument("name", help="the ModelRollout")
        if verb == "promote":
            parser.add_argument(
                "--full", action="store_true", help="skip every remaining step and promote at once"
            )
        add_cluster_options(parser)
        parser.set_defaults(run=run, verb=verb)


def annotation_verb(verb: str, full: bool) -> str:
    return "promote-full" if verb == "promote" and full else verb


def new_nonce() -> str:
    return secrets.token_hex(4)


def action_value(verb: str, nonce: str) -> str:
    return f"{verb}:{nonce}"


def refusal(verb: str, rollout: Obj) -> str | None:
    """Why the operator would ignore `verb` now, in its words; None when it would act."""
    status = status_of(rollout)
    spec: dict[str, Any] = rollout.get("spec") or {}
    phase = status.get("phase", "Pending")
    paused = status.get("pausedReason")
    if verb == "abort":
        return None if _abortable(status, spec) else _abort_refusal(phase)
    if verb == "retry":
        wanted = (spec.get("candidate") or {}).get("version")
        if phase != "RolledBack" or wanted is None or status.get("candidateVersion") != wanted:
            return "retry applies to a rolled back candidate still in the spec"
        return None
    if phase not in _STEPPING:
        return f"no rollout is progressing (phase {phase})"
    if verb == "pause":
        if paused is not None and (paused != Reason.PAUSED_BY_STEP.value or _at_indefinite_pause(rollout)):
            return f"already paused ({paused})"
        return None
    if spec.get("paused"):
        return "spec.paused is true"
    if verb == "resume" and paused not in _RESUMABLE:
        return "not paused by a step, a user or an analysis"
    return None


def _at_indefinite_pause(rollout: Obj) -> bool:
    steps = ((((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get("steps")) or []
    index = status_of(rollout).get("currentStep") or 0
    step = steps[index] if index < len(steps) else {}
    return "pause" in step and not (step.get("pause") or {}).get("duration")


def _abortable(status: dict[str, Any], spec: dict[str, Any]) -> bool:
    phase = status.get("phase", "Pending")
    if phase in (*_STEPPING, "Promoting"):
        return True
    wanted = (spec.get("candidate") or {}).get("version")
    unstarted = wanted is not None and wanted != status.get("stableVersion")
    return phase != "RollingBack" and unstarted and status.get("candidateVersion") != wanted


def _abort_refusal(phase: str) -> str:
    return "already rolling back" if phase == "RollingBack" else "no rollout to abort"


def run(args: argparse.Namespace) -> int:
    cluster = kube.connect(args)
    rollout = cluster.get(args.name)
    verb = annotation_verb(args.verb, getattr(args, "full", False))
    reason = refusal(args.verb, rollout)
    if reason is not None:
        raise CliError(
            f"modelrollout {args.name!r} (phase {status_of(rollout).get('phase', 'Pending')}): "
            f"{verb} would be ignored: {reason}"
        )
    value = action_value(verb, new_nonce())
    cluster.annotate(args.name, ANNOTATION_ACTION, value)
    print(f"modelrollout.modelrollout.io/{args.name} {verb} requested ({ANNOTATION_ACTION}={value})")
    return EXIT_OK
