"""The VirtualService `http` entries of header routes and mirrors (`istio` provider), ahead of the
weighted entries the user keeps.

Istio takes the first `http` entry that matches, so for every owned entry each header route and
each mirror in force gets an entry of its own just before it, with the owned entry's other fields
(timeouts, retries, rewrites...):
- a header route's entry: the owned entry's `match` conditions, each with the route's header
  conditions added (none: the route's conditions alone), routing to the version's subset only;
- a mirror's entry: the owned entry's conditions with the mirror's (none: the same conditions),
  the same weighted `route`, and `mirror` (the version's subset) with `mirrorPercentage`; Envoy
  drops the copies' answers.

Istio header names are lower case; a cookie is the `cookie` header holding `name=value` among its
pairs (a regular expression, RE2, matched whole). The generated entries are named
`modelrollout-header-<route>` / `modelrollout-mirror-<route>` (`-<n>` for the n-th owned entry
after the first), which is how the provider finds and replaces them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch
from ._routes import generated_name
from .gateway_segments import cookie_regex

__all__ = ["header_conditions", "segment_entries"]


def header_conditions(conditions: Sequence[RouteMatch]) -> dict[str, dict[str, str]]:
    """The `headers` of an Istio match for the conditions."""
    headers: dict[str, dict[str, str]] = {}
    for condition in conditions:
        if condition.cookie is not None:
            headers["cookie"] = {"regex": cookie_regex(condition.cookie.name, condition.cookie.value)}
            continue
        value = condition.header_value
        if value is None:
            continue
        name = (condition.header_name or "").lower()
        if value.exact is not None:
            headers[name] = {"exact": value.exact}
        elif value.prefix is not None:
            headers[name] = {"prefix": value.prefix}
        elif value.regex is not None:
            headers[name] = {"regex": value.regex}
    return headers


def _with_conditions(matches: list[dict[str, Any]], conditions: Sequence[RouteMatch]) -> list[dict[str, Any]]:
    added = header_conditions(conditions)
    if not added:
        return copy.deepcopy(matches)
    return [
        {**copy.deepcopy(match), "headers": {**copy.deepcopy(match.get("headers") or {}), **added}}
        for match in matches or [{}]
    ]


def segment_entries(
    entry: dict[str, Any],
    ordinal: int,
    headers: Sequence[HeaderRoute],
    mirrors: Sequence[MirrorRoute],
    template: dict[str, Any],
) -> list[dict[str, Any]]:
    """The entries of the header routes and mirrors for the owned `entry` (already weighted), the
    `ordinal`-th owned entry; `template` is the user's route destination without subset/weight."""
    base = {
        key: copy.deepcopy(value)
        for key, value in entry.items()
        if key not in ("name", "match", "route", "mirror", "mirrorPercentage", "mirrors")
    }
    matches = entry.get("match") or []
    generated: list[dict[str, Any]] = []
    for route in headers:
        destination = {**template["destination"], "subset": route.version}
        generated.append({
            "name": generated_name("header", route.name, ordinal),
            "match": _with_conditions(matches, route.match),
            **base,
            "route": [{**copy.deepcopy(template), "destination": destination}],
        })  # fmt: skip
    for mirror in mirrors:
        generated.append({
            "name": generated_name("mirror", mirror.name, ordinal),
            **({"match": _with_conditions(matches, mirror.match)} if matches or mirror.match else {}),
            **base,
            "route": copy.deepcopy(entry.get("route") or []),
            "mirror": {**template["destination"], "subset": mirror.version},
            "mirrorPercentage": {"value": float(mirror.percentage)},
        })  # fmt: skip
    return generated
