"""The HTTPRoute rules of header routes and mirrors (`gatewayAPI` provider), beside the weighted
rules the user keeps.

For every rule the provider owns (one whose backendRefs send traffic to the rollout), each header
route and each mirror in force gets a rule of its own, placed just before it:
- a header route's rule: the owned rule's matches, each with the route's header conditions added,
  and one backendRef, the version's Service; so the segment reaches that version whatever the
  weights (Gateway API prefers the rule with more header matches, and among equals the first);
- a mirror's rule: the owned rule's matches with the mirror's conditions (none: the same matches,
  listed first), the same weighted backendRefs, and a `RequestMirror` filter to the version's
  Service with `percent`, so the copies' answers are dropped by the Gateway.

Everything written is in Gateway API's standard channel (v1.6.3): header matches `Exact` and
`RegularExpression`, `RequestMirror.percent`, rule `name`. Prefix and cookie matches have no
type of their own there, so they are written as regular expressions: a prefix as `^<prefix>.*`,
a cookie as the `Cookie` header holding `name=value` among its pairs. The generated rules are
named `modelrollout-header-<route>` / `modelrollout-mirror-<route>` (`-<n>` for the n-th owned
rule after the first), which is how the provider finds and replaces them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from ..api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch
from ._routes import generated_name

__all__ = ["cookie_regex", "header_matches", "segment_rules"]


def cookie_regex(name: str, value: str) -> str:
    """A full match of a `Cookie` header holding `name=value` among its `;`-separated pairs."""
    return rf"^(.*;\s*)?{re.escape(name)}={re.escape(value)}(\s*;.*)?$"


def header_matches(conditions: Sequence[RouteMatch]) -> list[dict[str, Any]]:
    """The HTTPRoute header matches of the conditions (names lower case, as HTTP compares them)."""
    found: list[dict[str, Any]] = []
    for condition in conditions:
        if condition.cookie is not None:
            regex = cookie_regex(condition.cookie.name, condition.cookie.value)
            found.append({"name": "cookie", "type": "RegularExpression", "value": regex})
            continue
        value = condition.header_value
        name = (condition.header_name or "").lower()
        if value is None:
            continue
        if value.exact is not None:
            found.append({"name": name, "type": "Exact", "value": value.exact})
        elif value.prefix is not None:
            found.append(
                {"name": name, "type": "RegularExpression", "value": f"^{re.escape(value.prefix)}.*"}
            )
        elif value.regex is not None:
            found.append({"name": name, "type": "RegularExpression", "value": value.regex})
    return found


def _with_conditions(matches: list[dict[str, Any]], conditions: Sequence[RouteMatch]) -> list[dict[str, Any]]:
    """Each of `matches` (an owned rule's; none stands for every request) with the conditions'
    header matches added; a header the rule matched already is matched as the condition says."""
    added = header_matches(conditions)
    if not added:
        return copy.deepcopy(matches)
    names = {header["name"] for header in added}
    combined = []
    for match in matches or [{}]:
        kept = [h for h in match.get("headers") or [] if str(h.get("name", "")).lower() not in names]
        combined.append({**copy.deepcopy(match), "headers": [*kept, *added]})
    return combined


def segment_rules(
    rule: dict[str, Any],
    ordinal: int,
    headers: Sequence[HeaderRoute],
    mirrors: Sequence[MirrorRoute],
    service_of: dict[str, str],
    template: dict[str, Any],
) -> list[dict[str, Any]]:
    """The rules of the header routes and mirrors for the owned `rule` (already weighted), the
    `ordinal`-th owned rule of the route; `service_of` names each version's Service and
    `template` is the backendRef the user wrote (port, kind...) without name and weight."""
    generated: list[dict[str, Any]] = []
    matches = rule.get("matches") or []
    base = {
        key: copy.deepcopy(value)
        for key, value in rule.items()
        if key not in ("name", "matches", "backendRefs")
    }
    for route in headers:
        ref = {**copy.deepcopy(template), "name": service_of[route.version], "weight": 1}
        generated.append({
            "name": generated_name("header", route.name, ordinal),
            "matches": _with_conditions(matches, route.match),
            **base,
            "backendRefs": [ref],
        })  # fmt: skip
    for mirror in mirrors:
        target = {key: template[key] for key in ("group", "kind", "namespace", "port") if key in template}
        mirror_filter: dict[str, Any] = {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {**target, "name": service_of[mirror.version]},
                "percent": mirror.percentage,
            },
        }
        generated.append({
            "name": generated_name("mirror", mirror.name, ordinal),
            "matches": _with_conditions(matches, mirror.match),
            **base,
            "filters": [*copy.deepcopy(rule.get("filters") or []), mirror_filter],
            "backendRefs": copy.deepcopy(rule.get("backendRefs") or []),
        })  # fmt: skip
    return generated
