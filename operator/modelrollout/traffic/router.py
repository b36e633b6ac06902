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

Writes happen only when something differs, so a converged rollout makes none. Capacity: the
router serves the weights exactly whatever the replica counts, so each version runs the share of
`spec.replicas` its weight needs, rounded up (3 replicas at 95/5 run 3 + 1), and none at weight 0.

Finalize points the ConfigMap at the stable alone and deletes the other versions' Services; the
stable's Service and the ConfigMap lose their ownerReference, so the router keeps serving the
stable after the ModelRollout is deleted, instead of garbage collection taking them away.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..api.router_config import CONFIG_KEY, RouterConfig, RouterVersion, config_map_name
from ..api.v1alpha1 import LABEL_MODEL, LABEL_VERSION, Reason, TrafficProvider
from ._routes import ExactRouting, owned_metadata
from .provider import RouteClient, RouteTarget, RouteUnavailable, check_weights

__all__ = [
    "CONFIG_MAP",
    "SERVICE",
    "RouterProvider",
    "router_config",
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


def version_service(target: RouteTarget, version: str, port: int | str, owned: bool = True) -> dict[str, Any]:
    """The headless Service of one version: the router reads its EndpointSlices, never a
    ClusterIP (there is no kube-proxy in the router's way)."""
    metadata = owned_metadata(target, version_service_name(target.rollout, version), version)
    if not owned:
        metadata.pop("ownerReferences", None)
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


def router_config(
    target: RouteTarget, weights: Mapping[str, int], port: int | str, current: RouterConfig | None = None
) -> RouterConfig:
    """The configuration for `weights`, keeping `current`'s experiment settings where they name
    only listed versions (a segment, shadow, interleaving or bandit floor naming another is
    dropped)."""
    versions = [
        RouterVersion(
            name=version,
            service=version_service_name(target.rollout, version),
            port=port if isinstance(port, int) else "http",
            weight=float(weight),
        )
        for version, weight in weights.items()
    ]
    if current is None:
        return RouterConfig(model=target.model, versions=versions)
    listed = set(weights)
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


def _matches(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """The fields the provider sets, as the apiserver holds them (it adds defaults of its own)."""
    if current is None:
        return False
    meta, wanted_meta = current.get("metadata") or {}, wanted["metadata"]
    if (meta.get("ownerReferences") or None) != (wanted_meta.get("ownerReferences") or None):
        return False
    if wanted["kind"] == CONFIG_MAP[1]:
        return bool(current.get("data") == wanted["data"])
    spec, wanted_spec = current.get("spec") or {}, wanted["spec"]
    ports = [{key: port.get(key) for key in want} for port, want in zip(spec.get("ports") or [], wanted_spec["ports"], strict=False)]  # fmt: skip
    return bool(
        spec.get("selector") == wanted_spec["selector"]
        and spec.get("clusterIP") == "None"
        and ports == wanted_spec["ports"]
        and len(spec.get("ports") or []) == len(wanted_spec["ports"])
    )


def _apply_if_changed(client: RouteClient, wanted: dict[str, Any]) -> None:
    if not _matches(
        client.get_route(wanted["apiVersion"], wanted["kind"], wanted["metadata"]["name"]), wanted
    ):
        client.apply_route(wanted)


class RouterProvider(ExactRouting):
    """`Provider` for `provider: router`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.ROUTER.value

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Nothing has to exist beforehand: `set_routes` creates the ConfigMap and Services."""

    def set_routes(self, client: RouteClient, target: RouteTarget, weights: Mapping[str, int]) -> None:
        check_weights(weights)
        port = self._port(client, target)
        listed = {version: weight for version, weight in weights.items() if weight > 0}
        for version in listed:  # before the ConfigMap names them, so the router finds endpoints
            _apply_if_changed(client, version_service(target, version, port))
        current = _current_config(client.get_route(*CONFIG_MAP, config_map_name(target.rollout)))
        _apply_if_changed(client, _config_map(target, router_config(target, listed, port, current)))
        for version in sorted(set(target.versions) - set(listed)):
            if client.get_route(*SERVICE, version_service_name(target.rollout, version)) is not None:
                client.delete_route(*SERVICE, version_service_name(target.rollout, version))

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        port = self._port(client, target, required=False)
        _apply_if_changed(client, version_service(target, stable_version, port, owned=False))
        current = _current_config(client.get_route(*CONFIG_MAP, config_map_name(target.rollout)))
        config = router_config(target, {stable_version: 100}, port, current)
        _apply_if_changed(client, _config_map(target, config, owned=False))
        for version in sorted(set(target.versions) - {stable_version}):
            client.delete_route(*SERVICE, version_service_name(target.rollout, version))

    def _port(self, client: RouteClient, target: RouteTarget, required: bool = True) -> int | str:
        user_service = client.get_route(*SERVICE, target.service)
        if user_service is None and required:
            raise RouteUnavailable(Reason.SERVICE_NOT_FOUND, f"Service {target.service!r} not found")
        return _target_port(user_service)
