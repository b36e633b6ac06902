"""Header routes and mirrors in the model router's configuration (`router` provider): header
routes as segments ahead of any other, a mirror as the shadow.

The router's segments match header values and a cookie exactly, and it has one shadow that copies
a share of all requests; the CRD refuses other header matches, mirror matches and a second mirror
name with this provider, so whatever reaches here the router serves as asked.
"""

from __future__ import annotations

from ..api.router_config import HeaderMatch, RouterConfig, Segment, Shadow
from ..api.v1alpha1 import HeaderRoute
from ._routes import generated_name, is_generated
from .provider import Routing

__all__ = ["MIRROR_ANNOTATION", "segment", "with_routes"]

MIRROR_ANNOTATION = "modelrollout.io/mirror"
"""On the router's ConfigMap: the name of the mirror whose shadow it holds (absent: the shadow,
if any, is a person's)."""


def segment(route: HeaderRoute) -> Segment:
    """A header route as a router segment: exact header values, and its cookie."""
    headers = [
        HeaderMatch(name=match.header_name.lower(), value=match.header_value.exact)
        for match in route.match
        if match.header_name is not None
        and match.header_value is not None
        and match.header_value.exact is not None
    ]
    cookies = [match.cookie for match in route.match if match.cookie is not None]
    cookie = HeaderMatch(name=cookies[0].name, value=cookies[0].value) if cookies else None
    return Segment(
        name=generated_name("header", route.name, 0), headers=headers, cookie=cookie, version=route.version
    )


def with_routes(
    config: RouterConfig, routing: Routing, shadow_of: str | None
) -> tuple[RouterConfig, str | None]:
    """`config` with the provider's segments and shadow as `routing` says, and the mirror that
    now owns the shadow (None: no mirror; a shadow the provider wrote, `shadow_of`, is removed,
    one a person wrote is kept)."""
    theirs = [kept for kept in config.segments if not is_generated({"name": kept.name})]
    update: dict[str, object] = {"segments": [*(segment(route) for route in routing.headers), *theirs]}
    mirror = routing.mirrors[0] if routing.mirrors else None
    if mirror is not None:
        previous = config.shadow if config.shadow is not None and shadow_of is not None else None
        limit = (
            previous.max_concurrency
            if previous is not None
            else Shadow.model_fields["max_concurrency"].default
        )
        update["shadow"] = Shadow(
            version=mirror.version, sample_rate=mirror.percentage / 100, max_concurrency=limit
        )
    elif shadow_of is not None:
        update["shadow"] = None
    return RouterConfig.model_validate({**config.model_dump(), **update}), mirror.name if mirror else None
