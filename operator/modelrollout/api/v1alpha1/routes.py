"""The route steps of a Canary (`setHeaderRoute`, `setMirrorRoute`, `setCanaryScale`) and the
routes and scale in force that they leave in status.

A header route or a mirror is named; it stays in force from its step until a later step of the
same kind and name without a match removes it, or until the rollout leaves its steps (promotion,
abort, rollback, undo, a new candidate, deletion), when everything goes back to the stable.
`status.routes` holds what is in force and the controller makes the provider's route objects
say exactly that, so any strategy that writes `status.routes` routes a segment the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self

from pydantic import Field, model_validator

from . import route_rules as rules
from ._model import NAME_PATTERN, ApiModel
from ._model import require as _require
from .cel import CelRule
from .enums import TrafficProvider
from .interleaved import InterleavingRoute

HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"
"""An HTTP header name (a token, RFC 9110)."""
COOKIE_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"
"""A cookie name (a token, RFC 6265)."""
COOKIE_VALUE_PATTERN = r"^[A-Za-z0-9!#$%&'()*+\-./:<=>?@\[\]^_`{|}~]*$"
"""A cookie value without quotes, spaces, commas, semicolons or backslashes (RFC 6265)."""
MATCHES_MAX = 8
ROUTES_MAX = 8
"""Header routes (and mirrors) in force at once, at most."""
ROUTE_NAME_MAX = 40
"""A route's name becomes part of the rule or entry name the provider writes (at most 63)."""


class ValueMatch(ApiModel):
    """How a header's value must read: exactly one of `exact`, `prefix` and `regex`."""

    exact: str | None = Field(default=None, max_length=256)
    """The whole value, exactly."""
    prefix: str | None = Field(default=None, min_length=1, max_length=256)
    """The value starts with this."""
    regex: str | None = Field(default=None, min_length=1, max_length=256)
    """A regular expression the whole value matches (RE2 syntax, as Envoy and most Gateways use)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = (self.exact, self.prefix, self.regex)
        _require(sum(value is not None for value in given) == 1, rules.VALUE_MATCH_EXACTLY_ONE)
        return self


class CookieMatch(ApiModel):
    """A cookie of the request, by name and exact value."""

    name: str = Field(pattern=COOKIE_NAME_PATTERN, max_length=128)
    """The cookie's name."""
    value: str = Field(pattern=COOKIE_VALUE_PATTERN, min_length=1, max_length=256)
    """The value the cookie must have, exactly."""


class RouteMatch(ApiModel):
    """One condition on a request: a header (`headerName` with `headerValue`) or a cookie."""

    header_name: str | None = Field(default=None, pattern=HEADER_NAME_PATTERN, max_length=256)
    """The header's name (case does not matter, as in HTTP)."""
    header_value: ValueMatch | None = None
    """What the header's value must be."""
    cookie: CookieMatch | None = None
    """A cookie the request must carry, with its value."""

    @model_validator(mode="after")
    def _header_or_cookie(self) -> Self:
        header = self.header_name is not None
        valid = (
            self.header_value is not None and self.cookie is None
            if header
            else self.cookie is not None and self.header_value is None
        )
        _require(valid, rules.ROUTE_MATCH_EXACTLY_ONE)
        return self


Matches = list[RouteMatch]


def names_once(matches: Matches | None) -> bool:
    """Each header named once (case aside) and one cookie at most: a provider writes one header
    match per name (the cookie is the `Cookie` header)."""
    names = [match.header_name.lower() for match in matches or [] if match.header_name is not None]
    cookies = [match for match in matches or [] if match.cookie is not None]
    return len(set(names)) == len(names) and len(cookies) <= 1


class SetHeaderRoute(ApiModel):
    """Send the requests that match to the candidate, whatever the weights."""

    name: str = Field(pattern=NAME_PATTERN, max_length=ROUTE_NAME_MAX)
    """The route's name: a later `setHeaderRoute` of this name replaces it, or without `match`
    removes it."""
    match: Matches | None = Field(default=None, min_length=1, max_length=MATCHES_MAX)
    """Conditions that must all hold (at most 8; each header once, one cookie at most). Left out:
    the route of this name is removed."""

    @model_validator(mode="after")
    def _names_once(self) -> Self:
        _require(names_once(self.match), rules.HEADER_MATCH_NAMES_ONCE)
        return self


class SetMirrorRoute(ApiModel):
    """Copy a share of requests to the candidate; its answers are dropped, users get the answer
    of the version the weights chose."""

    name: str = Field(pattern=NAME_PATTERN, max_length=ROUTE_NAME_MAX)
    """The mirror's name: a later `setMirrorRoute` of this name replaces it, or with neither
    `match` nor `percentage` removes it."""
    percentage: int | None = Field(default=None, ge=0, le=100)
    """Percent of the requests (of those that match) copied; 100 when only `match` is given."""
    match: Matches | None = Field(default=None, min_length=1, max_length=MATCHES_MAX)
    """Conditions that must all hold for a request to be copied (at most 8; each header once, one
    cookie at most); left out, every request may be."""

    @model_validator(mode="after")
    def _names_once(self) -> Self:
        _require(names_once(self.match), rules.MIRROR_MATCH_NAMES_ONCE)
        return self

    @property
    def removes(self) -> bool:
        return self.match is None and self.percentage is None


class SetCanaryScale(ApiModel):
    """Run the candidate at a size of its own rather than the one its weight needs: exactly one
    of `replicas`, `weight` and `matchTrafficWeight: true`."""

    replicas: int | None = Field(default=None, ge=0, le=1000)
    """The candidate's replicas."""
    weight: int | None = Field(default=None, ge=0, le=100)
    """The candidate's replicas as a percent of `spec.replicas` (rounded up)."""
    match_traffic_weight: bool | None = None
    """`true`: the candidate runs what its weight needs again (the default)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = (self.replicas is not None, self.weight is not None, self.match_traffic_weight is True)
        _require(sum(given) == 1, rules.CANARY_SCALE_EXACTLY_ONE)
        return self


class HeaderRoute(ApiModel):
    """A header route in force: requests matching `match` go to `version`."""

    name: str = Field(max_length=ROUTE_NAME_MAX)
    """The route's name (its step's, or the strategy's)."""
    version: str
    """The version that answers the matching requests."""
    match: Matches = Field(default_factory=list, max_length=MATCHES_MAX)
    """Conditions that must all hold."""


class MirrorRoute(ApiModel):
    """A mirror in force: `percentage` of the requests matching `match` are copied to `version`."""

    name: str = Field(max_length=ROUTE_NAME_MAX)
    """The mirror's name."""
    version: str
    """The version that receives the copies (its answers are dropped)."""
    percentage: int = Field(default=100, ge=0, le=100)
    """Percent of the matching requests copied."""
    match: Matches = Field(default_factory=list, max_length=MATCHES_MAX)
    """Conditions that must all hold; empty: every request may be copied."""


class RoutesStatus(ApiModel):
    """The header routes, mirrors and interleaving in force, besides the weights."""

    headers: list[HeaderRoute] = Field(default_factory=list, max_length=ROUTES_MAX)
    """Header routes, in the order they were set (the first that matches a request wins)."""
    mirrors: list[MirrorRoute] = Field(default_factory=list, max_length=ROUTES_MAX)
    """Mirrors, in the order they were set."""
    interleaving: InterleavingRoute | None = None
    """The two versions whose rankings the router merges for every user (strategy Interleaved)."""


class CanaryScale(ApiModel):
    """The candidate's size apart from its weight (`setCanaryScale`), while in force."""

    replicas: int | None = Field(default=None, ge=0)
    """The candidate's replicas."""
    weight: int | None = Field(default=None, ge=0, le=100)
    """The candidate's replicas as a percent of `spec.replicas`, rounded up."""


class _RouteSteps(Protocol):
    """What `step_refusal` reads of a `CanaryStep`."""

    @property
    def set_header_route(self) -> SetHeaderRoute | None: ...
    @property
    def set_mirror_route(self) -> SetMirrorRoute | None: ...
    @property
    def set_canary_scale(self) -> SetCanaryScale | None: ...


def step_refusal(provider: TrafficProvider, steps: Sequence[_RouteSteps]) -> CelRule | None:
    """The first rule of `route_rules.STRATEGY_ROUTE_RULES` the steps break with `provider` (None:
    the provider serves them all): the same refusal the CRD gives, for pydantic."""
    headers = [step.set_header_route for step in steps if step.set_header_route is not None]
    mirrors = [step.set_mirror_route for step in steps if step.set_mirror_route is not None]
    if provider == TrafficProvider.REPLICAS:
        if headers:
            return rules.REPLICAS_NO_HEADER_ROUTE
        if mirrors:
            return rules.REPLICAS_NO_MIRROR_ROUTE
        if any(step.set_canary_scale is not None for step in steps):
            return rules.REPLICAS_NO_CANARY_SCALE
    if provider == TrafficProvider.ROUTER:
        values = [match.header_value for route in headers for match in route.match or []]
        if any(value is not None and value.exact is None for value in values):
            return rules.ROUTER_EXACT_HEADER_VALUES
        if any(mirror.match is not None for mirror in mirrors):
            return rules.ROUTER_MIRRORS_ALL
        if len({mirror.name for mirror in mirrors}) > 1:
            return rules.ROUTER_ONE_MIRROR
    return None
