"""Look at the world once per reconcile and describe it as `rollout.Observations`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api.v1alpha1 import (
    ANNOTATION_ACTION,
    LABEL_VERSION,
    ModelRolloutSpec,
    ModelRolloutStatus,
)
from ..k8s import KubeClient, KubeError, deployment_state, owner_reference
from ..lineage import DependencyGraph, RolloutNode
from ..rollout import (
    AnalysisObservation,
    DeploymentState,
    ManualAction,
    Observations,
    UpstreamState,
)
from ..traffic import Provider
from .ownership import name_taken
from .routes import Routes
from .workloads import build_deployment, deployment_name, rollout_selector


@dataclass(frozen=True)
class Loaded:
    """The ModelRollout as read, parsed; `spec_error` when the stored spec does not parse (an old
    object written before a validation rule existed)."""

    body: dict[str, Any]
    spec: ModelRolloutSpec | None
    status: ModelRolloutStatus
    spec_error: str | None = None

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def generation(self) -> int:
        return int(self.body["metadata"].get("generation", 0))


def load(body: dict[str, Any]) -> Loaded:
    from pydantic import ValidationError

    status = ModelRolloutStatus.model_validate(body.get("status") or {})
    try:
        spec = ModelRolloutSpec.model_validate(body.get("spec") or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return Loaded(body, None, status, f"spec.{where}: {first['msg']}")
    return Loaded(body, spec, status)


@dataclass(frozen=True)
class Observed:
    """One look at the world: what `decide` reads, and what the reconcile needs besides."""

    observations: Observations
    deployments: dict[str, dict[str, Any]]
    """The rollout's Deployments by version, as listed: the `Applier` starts from them."""
    action: ManualAction | None
    """The pending manual action, parsed (also in `observations`): cleared once status records it."""
    action_problem: str | None
    """Why the action annotation does not parse: warned about and removed, never applied."""
    routes: Routes
    """The traffic provider's route half for this rollout (`routes`)."""


def observe(
    client: KubeClient, loaded: Loaded, provider: Provider, analysis: AnalysisObservation | None
) -> Observed:
    """Everything `decide` needs from outside spec and status, read from the apiserver (the
    Deployments, the Service, a dry-run of a candidate not yet created, other ModelRollouts)
    and the annotations; `analysis` is the interval the caller has judged, if one was due."""
    spec = loaded.spec
    if spec is None:
        raise ValueError("observe needs a spec that parses")
    deployments = deployments_by_version(client, loaded.namespace, loaded.name)
    action, action_problem = manual_action(loaded.body)
    routes = Routes.of(client, loaded.body, spec, deployments)
    observations = Observations(
        generation=loaded.generation,
        rollout=loaded.name,
        deployments=deployment_states(deployments),
        replica_plan=lambda weights: provider.replica_plan(weights, spec.replicas),
        service_exists=client.service_exists(loaded.namespace, spec.service),
        route_problem=routes.problem(),
        template_error=template_error(client, loaded, deployments),
        action=action,
        analysis=analysis,
        upstream=upstream_state(client, loaded),
    )
    return Observed(observations, deployments, action, action_problem, routes)


def deployments_by_version(
    client: KubeClient, namespace: str, rollout_name: str
) -> dict[str, dict[str, Any]]:
    found = client.list_deployments(namespace, rollout_selector(rollout_name))
    return {
        d["metadata"]["labels"][LABEL_VERSION]: d for d in found if LABEL_VERSION in d["metadata"]["labels"]
    }


def deployment_states(deployments: dict[str, dict[str, Any]]) -> dict[str, DeploymentState]:
    return {
        version: DeploymentState.from_counts(deployment_state(deployment))
        for version, deployment in deployments.items()
    }


def pending_action(body: dict[str, Any]) -> str | None:
    """The action annotation's text as read (None when there is none): what is parsed, and the
    value that clearing it must still find, so an action written meanwhile is not wiped."""
    text = (body["metadata"].get("annotations") or {}).get(ANNOTATION_ACTION)
    return str(text) if text else None


def manual_action(body: dict[str, Any]) -> tuple[ManualAction | None, str | None]:
    """The pending action annotation, or the message explaining why it does not parse."""
    text = pending_action(body)
    if not text:
        return None, None
    try:
        return ManualAction.parse(text), None
    except ValueError as error:
        return None, str(error)


def template_error(client: KubeClient, loaded: Loaded, existing: dict[str, dict[str, Any]]) -> str | None:
    """A server-side dry-run of the candidate's Deployment before it exists: the apiserver's own
    validation (and admission) tells the user what is wrong with the template, traffic untouched."""
    spec = loaded.spec
    if spec is None or spec.candidate is None or spec.candidate.version in existing:
        return None
    if spec.candidate.version == loaded.status.stable_version:
        return None
    if spec.candidate.template is None:
        return "spec.candidate.template is required to create the candidate's Deployment"
    body = build_deployment(
        rollout_name=loaded.name,
        namespace=loaded.namespace,
        model=spec.model,
        version=spec.candidate.version,
        template=spec.candidate.template,
        owner=owner_reference(loaded.body),
    )
    try:
        client.create_deployment(loaded.namespace, body, dry_run=True)
    except KubeError as error:
        if error.status == 0:  # no answer at all: nothing is known about the template yet
            raise
        if error.status == 409:  # the name is taken: never adopted (see `ownership`)
            name = deployment_name(loaded.name, spec.candidate.version)
            return name_taken(client, loaded.namespace, name, loaded.name, spec.candidate.version)
        return f"candidate template rejected by the apiserver: {error.message}"
    return None


def upstream_state(client: KubeClient, loaded: Loaded) -> UpstreamState:
    """The dependsOn graph of the namespace seen from this rollout (empty without dependsOn)."""
    spec = loaded.spec
    if spec is None or not spec.depends_on:
        return UpstreamState()
    nodes = []
    last_finished: dict[str, str | None] = {}
    for item in client.list_rollouts(loaded.namespace):
        try:
            item_spec = ModelRolloutSpec.model_validate(item.get("spec") or {})
        except ValueError:
            continue
        item_status = ModelRolloutStatus.model_validate(item.get("status") or {})
        nodes.append(RolloutNode.from_api(item_spec, item_status))
        history = item_status.history
        last_finished[item_spec.model] = history[-1].finished_at if history else None
    seen = DependencyGraph(nodes).upstream_state(spec.model)
    started = loaded.status.rollout_started_at
    # An upstream failure cascades only when it happened during this rollout, not a stale one.
    failed = tuple(
        (model, criticality)
        for model, criticality in seen.failed_models
        if started is not None and (last_finished.get(model) or started) >= started
    )
    return UpstreamState(
        blocking_models=tuple(seen.blocking_models),
        failed_models=failed,
        cycle=seen.cycle,
        missing=tuple(seen.missing),
    )
