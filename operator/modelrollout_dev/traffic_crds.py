"""The CRDs of the traffic providers' route objects, for the local control plane: the HTTPRoute
from Gateway API's Go module and the VirtualService and DestinationRule from Istio's
(`istio.io/api`), as hack/build-tools.sh caches them by version (`make tools`). Nothing is
committed: the files come from the module proxy, pinned here and in the script.

No Gateway or mesh runs here, so these objects route nothing by themselves: the tests' simulated
clients read them (`route_traffic.RoutedTraffic`) and split requests as a data plane would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .tools import cache_dir

GATEWAY_API_VERSION = "v1.6.3"
ISTIO_API_VERSION = "v1.32.0"
ISTIO_KINDS = ("VirtualService", "DestinationRule")
"""Of Istio's many CRDs, the kinds the `istio` provider writes (the others would only slow down
every test cluster's start)."""


def gateway_api_crds() -> list[Path]:
    path = (
        cache_dir() / f"gateway-api-crds-{GATEWAY_API_VERSION}" / "gateway.networking.k8s.io_httproutes.yaml"
    )
    return [_required(path)]


def istio_crds() -> list[Path]:
    """The VirtualService and DestinationRule CRDs, cut from Istio's one file of all its CRDs
    (written beside it once)."""
    directory = cache_dir() / f"istio-crds-{ISTIO_API_VERSION}"
    source = _required(directory / "customresourcedefinitions.gen.yaml")
    wanted = directory / "networking-routes.json"
    if not wanted.exists() or wanted.stat().st_mtime < source.stat().st_mtime:
        documents = [d for d in yaml.safe_load_all(source.read_text()) if _is_kind(d)]
        wanted.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}))
    return [wanted]


def _is_kind(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("kind") == "CustomResourceDefinition"
        and document["spec"]["names"]["kind"] in ISTIO_KINDS
    )


def _required(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make tools` (hack/build-tools.sh fetches it)")
    return path
