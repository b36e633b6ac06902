"""The `router` provider: weights written into the model router's ConfigMap, exactly.

The model router (`modelrollout.router`, one per model) splits user requests by the weights of
its ConfigMap `<rollout>-router` (`api/router_config.py`, key `router.json`), and sends them to the
pod IPs the EndpointSlices of one headless Service per version list. This provider writes both:

- a headless Service `<rollout>-<version>` for each version with a weight, selecting that
  version's pods (`modelrollout.io/model` and `modelrollout.io/version`; one ModelRollout per
  model and namespace, so the model names the rollout). Its port is `spec.service`'s first port:
  the router connects to its target port (a number), or to the EndpointSlices' port of that name
  when the target port is a name;
- the ConfigMap with one entry per version of the weights, in their order (stable first). The
  ConfigMap's other settings (stickiness, segments, shadow, interleaving, bandit, body limit),
  which a person or a later spec field may have written, are kept as long as they still name
  versions that are listed; a setting that names a version no longer listed is dropped, since
  the router refuses the whole configuration otherwise.

The Services are created once, owned by the ModelRollout, and never changed or deleted: the
operator may create Services but not patch or delete any, so no ModelRollout can make it change
or remove the Services clients call. A Service of that name that is not the rollout's is a
RouteConflict (the rollout holds), never taken over. A version that leaves the traffic only
leaves the ConfigMap; its Service stays, unused, until garbage collection removes it with the
ModelRollout (a version taking traffic again finds it there). Since a Service is never rewritten,
a change of `spec.service`'s target port reaches the router through the ConfigMap's port (a
number), and a version's Service only when it is created.

Header routes and mirrors (`status.routes`) are the router's own settings: each header route is a
segment `modelrollout-header-<route>` ahead of any other segment (exact header values and one
cookie, which the CRD holds the steps to with this provider), and a mirror is the shadow, with
`sampleRate` its percentage over 100; the ConfigMap's annotation `modelrollout.io/mirror` names
the mirror that wrote the shadow, so a shadow a person wrote is replaced only while a mirror is in
force and kept otherwise. A version a route names is listed (at its weight, 0 if need be), since
the router refuses a segment or shadow naming a version it does not list.

Experiment settings the spec asks for (`spec.strategy.canary.stickiness` as the router's
`stickiness`, while the weights split) are the operator's own, named in the ConfigMap's annotation
`modelrollout.io/owned-settings` and removed once the spec no longer asks for them
(`router_experiments`): an abort, undo or promotion leaves the stable alone at 100 and no sticky
split behind; a stickiness a person wrote is kept for a rollout that sets none.

The ConfigMap is written (server-side apply) only when it differs, so a converged rollout makes no
write. Capacity: the router serves the weights exactly whatever the replica counts, so each
version runs the share of `spec.replicas` its weight needs, rounded up (3 replicas at 95/5 run
3 + 1), and none at weight 0.

Finalize (the ModelRollout deleted) points the ConfigMap's stable entry at `spec.service`, which
selects every pod of the model: once the other versions' Deployments are deleted only the
stable's pods are behind it, so the router keeps serving without any per-version Service, and
the ConfigMap loses its ownerReference so garbage collection leaves it to the router. (Should
the stable have had no available replica at deletion, the other versions' Deployments are
orphaned rather than deleted and `spec.service` sends to them as well, as it does for the
Service's own clients.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..api.router_config import CONFIG_KEY, RouterConfig, RouterVersion, config_map_name
from ..api.v1alpha1 import LABEL_MODEL, LABEL_VERSION, Reason, TrafficProvider, Weight
from ._routes import ExactRouting, own_version_service, owned_metadata
from .provider import RouteClient, RouteTarget, RouteUnavailable, Routing, as_routing, check_weights
from .router_experiments import OWNED_ANNOTATION, owned_settings, spec_settings, with_settings
from .router_segments import MIRROR_ANNOTATION, with_routes

__all__ = [
    "CONFIG_MAP",
    "SERVICE",
    "RouterProvider",
    "router_config",
    "version_entries",
    "version_service",
    "version_service_name",
]

CONFIG_MAP = ("v1", "ConfigMap")
SERVICE = ("v1", "Service")
DEFAULT_PORT = 8080


def version_service_name(rollout: str, version: str) -> str:
    """`<rollout>-<version>`, as the version's Deployment."""
    return f"{rollout}-{version}"


def _target_port(user_service: Mapping[str, Any] | None) -> int | str:
    """`spec.service`'s first target port (its port when no target port is given)."""
    ports = ((user_service or {}).get("spec") or {}).get("ports") or []
    if not ports:
        return DEFAULT_PORT
    port: int | str = ports[0].get("targetPort", ports[0].get("port", DEFAULT_PORT))
    return port


def _user_service_port(user_service: Mapping[str, Any] | None) -> int | str:
    """The pods' port as `spec.service`'s EndpointSlices give it: the target port when it is a
    number, else the name of the Service's first port (under which the slices carry the number)."""
    port = _target_port(user_service)
    if isinstance(port, int):
        return port
    first: Mapping[str, Any] = (((user_service or {}).get("spec") or {}).get("ports") or [{}])[0]
    return str(first.get("name", ""))


def version_service(target: RouteTarget, version: str, port: int | str) -> dict[str, Any]:
    """The headless Service of one version: the router reads its EndpointSlices, never a
    ClusterIP (there is no kube-proxy in the router's way)."""
    metadata = owned_metadata(target, version_service_name(target.rollout, version), version)
    service_port: dict[str, Any] = {"name": "http", "protocol": "TCP"}
    if isinstance(port, int):
        service_port.update(port=port, targetPort=port)
    else:  # a named container port: the EndpointSlices carry its number under the name `http`
        service_port.update(port=DEFAULT_PORT, targetPort=port)
    return {
        "apiVersion": SERVICE[0],
        "kind": SERVICE[1],
        "metadata": metadata,
        "spec": {
            "clusterIP": "None",
            "selector": {LABEL_MODEL: target.model, LABEL_VERSION: version},
            "ports": [service_port],
        },
    }


def version_entries(
    target: RouteTarget, weights: Mapping[str, Weight], port: int | str
) -> list[RouterVersion]:
    """One entry per version of `weights`, on the version's own Service."""
    return [
        RouterVersion(
            name=version,
            service=version_service_name(target.rollout, version),
            port=port if isinstance(port, int) else "http",
            weight=float(weight),
        )
        for version, weight in weights.items()
    ]


def router_config(
    target: RouteTarget, versions: list[RouterVersion], current: RouterConfig | None = None
) -> RouterConfig:
    """The configuration of `versions`, keeping `current`'s experiment settings where they name
    only listed versions (a segment, shadow, interleaving or bandit floor naming another is
    dropped)."""
    if current is None:
        return RouterConfig(model=target.model, versions=versions)
    listed = {version.name for version in versions}
    kept: dict[str, Any] = {
        "stickiness": current.stickiness,
        "max_body_bytes": current.max_body_bytes,
        "segments": [segment for segment in current.segments if segment.version in listed],
    }
    if current.shadow is not None and current.shadow.version in listed:
        kept["shadow"] = current.shadow
    if current.interleaving is not None and set(current.interleaving.versions) <= listed:
        kept["interleaving"] = current.interleaving
    if current.bandit is not None:
        floors = {version: floor for version, floor in current.bandit.min_weight.items() if version in listed}
        kept["bandit"] = current.bandit.model_copy(update={"min_weight": floors})
    return RouterConfig(model=target.model, versions=versions, **kept)


def _current_config(config_map: Mapping[str, Any] | None) -> RouterConfig | None:
    text = ((config_map or {}).get("data") or {}).get(CONFIG_KEY)
    if text is None:
        return None
    try:
        return RouterConfig.model_validate_json(text)
    except ValidationError:
        return None  # not ours to keep: the router refused it too; the provider replaces it


def _config_map(target: RouteTarget, config: RouterConfig, owned: bool = True) -> dict[str, Any]:
    metadata = owned_metadata(target, config_map_name(target.rollout))
    if not owned:
        metadata.pop("ownerReferences", None)
    text = json.dumps(
        config.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2, sort_keys=True
    )
    return {
        "apiVersion": CONFIG_MAP[0],
        "kind": CONFIG_MAP[1],
        "metadata": metadata,
        "data": {CONFIG_KEY: text},
    }


_ANNOTATIONS = (MIRROR_ANNOTATION, OWNED_ANNOTATION)
"""The ConfigMap's annotations the provider writes (every other one is left to whoever wrote it)."""


def _write_config_map(client: RouteClient, current: Mapping[str, Any] | None, wanted: dict[str, Any]) -> None:
    """Server-side apply of the ConfigMap unless its data, owner and annotations already are as
    wanted."""
    meta = (current or {}).get("metadata") or {}
    found, asked = meta.get("annotations") or {}, wanted["metadata"].get("annotations") or {}
    if (
        current is None
        or current.get("data") != wanted["data"]
        or (meta.get("ownerReferences") or None) != (wanted["metadata"].get("ownerReferences") or None)
        or any(found.get(key) != asked.get(key) for key in _ANNOTATIONS)
    ):
        client.apply_route(wanted)


class RouterProvider(ExactRouting):
    """`Provider` for `provider: router`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.ROUTER.value

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Nothing has to exist beforehand (`set_routes` creates the ConfigMap and Services), but a
        version's Service name held by someone else holds the rollout."""
        for version in target.versions:
            self._own_service(client, target, version)

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        routing = as_routing(routing)
        check_weights(routing.weights)
        port = self._port(client, target)
        listed = {version: routing.weights[version] for version in routing.routed_versions()}
        for version in listed:  # before the ConfigMap names them, so the router finds endpoints
            if self._own_service(client, target, version) is None:
                client.create_route(version_service(target, version, port))
        self._write(client, target, version_entries(target, listed, port), owned=True, routing=routing)

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        user_service = client.get_route(*SERVICE, target.service)
        stable = RouterVersion(
            name=stable_version, service=target.service, port=_user_service_port(user_service), weight=100.0
        )
        self._write(client, target, [stable], owned=False)
        # The version Services go with the ModelRollout, their owner (garbage collection).

    def _write(
        self,
        client: RouteClient,
        target: RouteTarget,
        versions: list[RouterVersion],
        owned: bool,
        routing: Routing | None = None,
    ) -> None:
        """The ConfigMap for `versions`, with `routing`'s header routes, mirror and experiment
        settings (none: the provider's segments, shadow and settings removed, as on deletion)."""
        found = client.get_route(*CONFIG_MAP, config_map_name(target.rollout))
        annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
        routing = routing or Routing({})
        config, mirror = with_routes(
            router_config(target, versions, _current_config(found)),
            routing,
            annotations.get(MIRROR_ANNOTATION),
        )
        config, settings = with_settings(
            config, spec_settings(routing), owned_settings(annotations.get(OWNED_ANNOTATION))
        )
        wanted = _config_map(target, config, owned=owned)
        written = {MIRROR_ANNOTATION: mirror, OWNED_ANNOTATION: ",".join(settings) or None}
        if any(written.values()):
            wanted["metadata"]["annotations"] = {key: value for key, value in written.items() if value}
        _write_config_map(client, found, wanted)

    def _own_service(self, client: RouteClient, target: RouteTarget, version: str) -> dict[str, Any] | None:
        name = version_service_name(target.rollout, version)
        return own_version_service(client, target, name, version, self.provider)

    def _port(self, client: RouteClient, target: RouteTarget) -> int | str:
        user_service = client.get_route(*SERVICE, target.service)
        if user_service is None:
            raise RouteUnavailable(Reason.SERVICE_NOT_FOUND, f"Service {target.service!r} not found")
        return _target_port(user_service)
