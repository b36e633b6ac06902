"""`promote [--full]`, `abort`, `pause`, `resume`, `retry`, `undo [--to-version V]`: each writes
the `modelrollout.io/action: <verb>[:<version>]:<nonce>` annotation with a fresh nonce, which the
operator applies once (rollout/manual.py), so nobody writes a nonce by hand.

A verb the operator would ignore in the rollout's current state (a promote with nothing
rolling out, an undo to a version no longer kept...) is refused here, before the write, with
the operator's own reason: the plugin asks the operator's own rules (`preview_action`) on the
status and Deployments it reads, so the two cannot disagree. The operator still decides: the
state may change between the read and its reconcile, and `status` shows `lastAction` with what
it did.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from ..api.v1alpha1 import ANNOTATION_ACTION, LABEL_VERSION, ModelRolloutSpec, ModelRolloutStatus
from ..k8s import deployment_state
from ..rollout import DeploymentState, ManualAction, preview_action
from . import kube
from .common import EXIT_OK, CliError, Obj, add_cluster_options, status_of

VERBS = ("promote", "abort", "pause", "resume", "retry", "undo")
_IGNORED = "ignored: "
_HELP = {
    "promote": "complete the current step (--full: skip the remaining steps and promote)",
    "abort": "roll the candidate back to the stable now",
    "pause": "hold the rollout at its current step",
    "resume": "continue a paused rollout (restarts a paused analysis)",
    "retry": "roll a rolled back candidate out again from the first step",
    "undo": "return at once to the previous good version (or --to-version V), skipping analysis",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for verb in VERBS:
        parser = commands.add_parser(verb, help=_HELP[verb], description=_HELP[verb])
        parser.add_argument("name", help="the ModelRollout")
        if verb == "promote":
            parser.add_argument(
                "--full", action="store_true", help="skip every remaining step and promote at once"
            )
        if verb == "undo":
            parser.add_argument(
                "--to-version",
                metavar="VERSION",
                help="a good version still kept (revisionHistoryLimit); default: the previous stable",
            )
        add_cluster_options(parser)
        parser.set_defaults(run=run, verb=verb)


def annotation_verb(verb: str, full: bool) -> str:
    return "promote-full" if verb == "promote" and full else verb


def new_nonce() -> str:
    return secrets.token_hex(4)


def action_value(verb: str, nonce: str, version: str | None = None) -> str:
    return f"{verb}:{version}:{nonce}" if version else f"{verb}:{nonce}"


def refusal(
    verb: str, rollout: Obj, deployments: Sequence[Obj] = (), version: str | None = None
) -> str | None:
    """Why the operator would ignore `verb` now, in its words; None when it would act."""
    try:
        spec = ModelRolloutSpec.model_validate(rollout.get("spec") or {})
        status = ModelRolloutStatus.model_validate(status_of(rollout))
    except ValidationError as error:
        return f"the rollout does not parse: {error.errors()[0]['msg']}"
    action = ManualAction.parse(action_value(verb, new_nonce(), version))
    result = preview_action(spec, status, _states(deployments), action, datetime.now(UTC))
    return result.removeprefix(_IGNORED) if result.startswith(_IGNORED) else None


def _states(deployments: Sequence[Obj]) -> dict[str, DeploymentState]:
    states = {}
    for deployment in deployments:
        version = ((deployment.get("metadata") or {}).get("labels") or {}).get(LABEL_VERSION)
        if version:
            states[version] = DeploymentState.from_counts(deployment_state(deployment))
    return states


def run(args: argparse.Namespace) -> int:
    cluster = kube.connect(args)
    rollout = cluster.get(args.name)
    verb = annotation_verb(args.verb, getattr(args, "full", False))
    version: str | None = getattr(args, "to_version", None)
    reason = refusal(verb, rollout, cluster.deployments_of(rollout) or [], version)
    if reason is not None:
        raise CliError(
            f"modelrollout {args.name!r} (phase {status_of(rollout).get('phase', 'Pending')}): "
            f"{verb} would be ignored: {reason}"
        )
    value = action_value(verb, new_nonce(), version)
    cluster.annotate(args.name, ANNOTATION_ACTION, value)
    print(f"modelrollout.modelrollout.io/{args.name} {verb} requested ({ANNOTATION_ACTION}={value})")
    return EXIT_OK
