"""`kubectl modelrollout status`: the header routes, mirrors and canary scale in force, and how the
route steps read in the step list."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..api.v1alpha1 import CanaryStep, RouteMatch, RoutesStatus
from ..rollout.route_steps import describe_route_step

__all__ = ["describe_match", "route_lines", "route_step"]


def describe_match(match: RouteMatch) -> str:
    """`x-beta = true`, `x-tenant ^= acme`, `x-id ~ [0-9]+`, `cookie segment = beta`."""
    if match.cookie is not None:
        return f"cookie {match.cookie.name} = {match.cookie.value}"
    value = match.header_value
    if value is None:
        return match.header_name or ""
    if value.exact is not None:
        return f"{match.header_name} = {value.exact}"
    if value.prefix is not None:
        return f"{match.header_name} ^= {value.prefix}"
    return f"{match.header_name} ~ {value.regex}"


def _all(matches: list[RouteMatch]) -> str:
    return " and ".join(describe_match(match) for match in matches)


def route_lines(status: dict[str, Any]) -> list[str]:
    """Lines under `Weights:` for the routes in force besides the weights (none: no lines)."""
    lines: list[str] = []
    routes = RoutesStatus.model_validate(status.get("routes") or {})
    for header in routes.headers:
        lines.append(f"  header     {header.name}: {_all(header.match)} -> {header.version}")
    for mirror in routes.mirrors:
        which = f" of {_all(mirror.match)}" if mirror.match else ""
        lines.append(f"  mirror     {mirror.name}: {mirror.percentage}%{which} copied to {mirror.version}")
    scale = status.get("canaryScale") or {}
    if scale.get("replicas") is not None:
        lines.append(f"  scale      candidate at {scale['replicas']} replica(s) whatever its weight")
    elif scale.get("weight") is not None:
        lines.append(f"  scale      candidate at {scale['weight']}% of spec.replicas whatever its weight")
    return lines


def route_step(step: dict[str, Any]) -> str | None:
    """A route step as `describe_step` words it; None for any other step."""
    if not {"setHeaderRoute", "setMirrorRoute", "setCanaryScale"} & set(step):
        return None
    try:
        return describe_route_step(CanaryStep.model_validate(step))
    except ValidationError:
        return None
