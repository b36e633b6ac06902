"""What a Gateway or a mesh would do with the route objects, for the simulated clients of the tests
and the demo: no data plane runs here, so the clients' requests are split as the HTTPRoute or
VirtualService read from the cluster says, and the analysis sees exactly what the provider set.

- weights: the rule (entry) the request reaches splits it by its backendRefs' (routes') weights;
- header routes: a request carrying the headers (or the cookie) a rule matches goes where that rule
  sends it. The HTTPRoute's rule is chosen as Gateway API says (the most header matches, then the
  first listed), the VirtualService's entry as Istio does (the first that matches);
- mirrors: a rule's `RequestMirror` filter (an entry's `mirror`) copies its percentage of the
  requests that reach it to the mirror's version, which counts them in its own series (as a real
  mirror's model server would) but never answers a user (`RoutedTraffic.mirrored`, not `served`).

A rule that still sends its traffic to the model's Service itself (before the first step, after
the operator handed the route back) is split as that Service does: by ready pods. Paths and methods
are not simulated: every client request is one the route's owned rule matches.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model_traffic import ModelTraffic

ROUTE_RESOURCES = {"HTTPRoute": "httproutes.gateway.networking.k8s.io",
                   "VirtualService": "virtualservices.networking.istio.io"}  # fmt: skip
GENERATED_PREFIX = "modelrollout-"
"""Names of the rules and entries the operator generates for header routes and mirrors."""

Headers = Mapping[str, str]
"""A request's headers, names in lower case (a cookie as the `cookie` header)."""


@dataclass(frozen=True)
class Destination:
    """Where one kind of request goes: split by `weights` (None: by the Service's ready pods), and
    copied to each mirror's version with its probability."""

    weights: dict[str, int] | None
    mirrors: tuple[tuple[str, float], ...] = ()


RouteTable = Callable[[Headers], Destination]


def http_route_shares(route: dict[str, Any], rollout: str, service: str) -> dict[str, int] | None:
    """Weight per version of the first (not generated) rule that routes to the rollout's Services
    (None: it routes to `service` itself, or no rule routes to the rollout)."""
    for rule in (route.get("spec") or {}).get("rules") or []:
        if str(rule.get("name", "")).startswith(GENERATED_PREFIX):
            continue
        shares = _rule_shares(rule, rollout, service)
        if shares != {}:
            return shares
    return None


def _rule_shares(rule: dict[str, Any], rollout: str, service: str) -> dict[str, int] | None:
    """{} when the rule sends nothing to the rollout; None when it sends to `service` itself."""
    refs = rule.get("backendRefs") or []
    if any(ref.get("name") == service for ref in refs):
        return None
    prefix = f"{rollout}-"
    return {
        ref["name"].removeprefix(prefix): int(ref.get("weight", 1))
        for ref in refs
        if ref.get("name", "").startswith(prefix)
    }


def _gateway_header_matches(header: dict[str, Any], headers: Headers) -> bool:
    value = headers.get(str(header.get("name", "")).lower())
    if value is None:
        return False
    if header.get("type", "Exact") == "Exact":
        return bool(value == header.get("value"))
    return re.fullmatch(str(header.get("value", "")), value) is not None


def http_route_table(route: dict[str, Any], rollout: str, service: str) -> RouteTable | None:
    """The HTTPRoute as a Gateway would apply it to the rollout's requests (None: it sends them to
    `service` itself)."""
    candidates: list[tuple[int, list[list[dict[str, Any]]], Destination]] = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        shares = _rule_shares(rule, rollout, service)
        if shares is None:
            return None
        if not shares:
            continue
        prefix = f"{rollout}-"
        mirrors = tuple(
            (
                f["requestMirror"]["backendRef"]["name"].removeprefix(prefix),
                f["requestMirror"].get("percent", 100) / 100,
            )
            for f in rule.get("filters") or []
            if f.get("type") == "RequestMirror"
        )
        conditions = [match.get("headers") or [] for match in rule.get("matches") or [{}]]
        candidates.append((len(candidates), conditions, Destination(shares, mirrors)))
    if not candidates:
        return None

    def table(headers: Headers) -> Destination:
        best: tuple[int, int, Destination] | None = None
        for order, conditions, destination in candidates:
            for condition in conditions:
                if all(_gateway_header_matches(header, headers) for header in condition):
                    rank = (-len(condition), order)
                    if best is None or rank < best[:2]:
                        best = (*rank, destination)
        return best[2] if best is not None else Destination(None)

    return table


def virtual_service_shares(virtual_service: dict[str, Any], service: str) -> dict[str, int] | None:
    """Weight per subset (version) of the first (not generated) http entry routing to `service`'s host."""
    for entry in (virtual_service.get("spec") or {}).get("http") or []:
        if str(entry.get("name", "")).startswith(GENERATED_PREFIX):
            continue
        shares = _entry_shares(entry, service)
        if shares != {}:
            return shares
    return None


def _entry_shares(entry: dict[str, Any], service: str) -> dict[str, int] | None:
    routes = [
        r
        for r in entry.get("route") or []
        if (r.get("destination") or {}).get("host", "").split(".")[0] == service
    ]
    if not routes:
        return {}
    if any("subset" not in r["destination"] for r in routes):
        return None
    return {r["destination"]["subset"]: int(r.get("weight", 100 // len(routes))) for r in routes}


def _istio_matches(match: dict[str, Any], headers: Headers) -> bool:
    for name, condition in (match.get("headers") or {}).items():
        value = headers.get(name.lower())
        if value is None:
            return False
        if "exact" in condition and value != condition["exact"]:
            return False
        if "prefix" in condition and not value.startswith(condition["prefix"]):
            return False
        if "regex" in condition and re.fullmatch(condition["regex"], value) is None:
            return False
    return True


def virtual_service_table(virtual_service: dict[str, Any], service: str) -> RouteTable | None:
    """The VirtualService as Istio would apply it: the first entry that matches."""
    entries: list[tuple[list[dict[str, Any]], Destination]] = []
    for entry in (virtual_service.get("spec") or {}).get("http") or []:
        shares = _entry_shares(entry, service)
        if shares is None:
            return None
        if not shares:
            continue
        mirror = entry.get("mirror")
        mirrors = (
            ((mirror["subset"], float((entry.get("mirrorPercentage") or {}).get("value", 100.0)) / 100),)
            if mirror
            else ()
        )
        entries.append((entry.get("match") or [{}], Destination(shares, mirrors)))
    if not entries:
        return None

    def table(headers: Headers) -> Destination:
        for matches, destination in entries:
            if any(_istio_matches(match, headers) for match in matches):
                return destination
        return Destination(None)

    return table


def route_table_reader(
    kubectl: Callable[..., Any], namespace: str, model: str, kind: str, name: str, rollout: str
) -> Callable[[], RouteTable | None]:
    """Reads the route object and makes it a `RouteTable` (None: the Service's own split)."""

    def read() -> RouteTable | None:
        result = kubectl("get", ROUTE_RESOURCES[kind], name, "-n", namespace, "-o", "json")
        route = json.loads(result.stdout)
        if kind == "HTTPRoute":
            return http_route_table(route, rollout, model)
        return virtual_service_table(route, model)

    return read


Client = tuple[float, dict[str, str]]
"""A share of the requests and the headers they carry (lower-case names; a cookie as `cookie`)."""


@dataclass
class RoutedTraffic(ModelTraffic):
    """`ModelTraffic` whose requests, of several kinds (`clients`), are split by the route table."""

    read_table: Callable[[], RouteTable | None] = lambda: None
    clients: Sequence[Client] = ((1.0, {}),)
    mirrored: dict[str, int] = field(default_factory=dict)
    """Copies received per version (counted in its series, never answering a user)."""
    served_by_client: dict[int, dict[str, int]] = field(default_factory=dict)
    """Requests answered per version, per index of `clients`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._pods = self.ready_pods
        self._latest: dict[str, int] = {}
        self._table: RouteTable | None = None
        self.read_started = -math.inf
        """When the read behind the split in use began (`time.monotonic()`)."""
        self.ready_pods = lambda: dict(self._latest)

    def start(self) -> RoutedTraffic:
        """Reads the cluster on a thread of its own: a slow `kubectl` (a busy machine) then delays
        only the next change of split, never the requests of the ticks in between."""
        reader = threading.Thread(target=self._read_loop, name="route-reader", daemon=True)
        reader.start()
        self._threads.append(reader)
        super().start()
        return self

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                pods = self._pods()
                self._table, self._latest = self.read_table(), pods
                self.read_started = started
            except Exception:  # a transient API error keeps the previous split
                pass
            self._stop.wait(0.5)

    def wait_for_fresh_read(self, timeout: float = 30.0) -> None:
        """Until the split in use was read after this call began: what a test wrote to the route
        just before is then what the next requests follow (a read takes seconds on a busy machine)."""
        since = time.monotonic()
        deadline = since + timeout
        while self.read_started < since:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the route was not read again within {timeout:.0f}s")
            time.sleep(0.05)

    def _serve(self, pods: dict[str, int]) -> None:
        table = self._table
        for index, (share, headers) in enumerate(self.clients):
            count = int(self._rng.poisson(self.rps * self.tick * share))
            if count == 0:
                continue
            destination = table(headers) if table is not None else Destination(None)
            weights = destination.weights if destination.weights is not None else pods
            live = {
                version: weight for version, weight in weights.items() if weight > 0 and pods.get(version)
            }
            total = sum(live.values())
            if total == 0:
                continue
            versions = sorted(live)
            split = self._rng.multinomial(count, np.array([live[v] / total for v in versions]))
            mine = self.served_by_client.setdefault(index, {})
            for version, n in zip(versions, split, strict=True):
                if n:
                    self._record(version, int(n))
                    mine[version] = mine.get(version, 0) + int(n)
            for version, chance in destination.mirrors:
                copies = int(self._rng.binomial(count, min(chance, 1.0))) if pods.get(version) else 0
                if copies:
                    self._record(version, copies)
                    self.served[version] -= copies  # a copy's answer is dropped: no user was served
                    self.mirrored[version] = self.mirrored.get(version, 0) + copies
