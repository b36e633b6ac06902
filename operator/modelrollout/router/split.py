"""Which version a user request goes to: segments, the weighted split and the sticky split.

The sticky split is weighted rendezvous hashing: each version draws a uniform `u` from a hash of
(user, version) and scores `-ln(u) / weight`; the lowest score wins. The scores are independent
exponential races, so each version wins `weight / sum` of the users; a user's scores never change,
so it keeps its version while the weights hold; and when the candidate's weight grows (the others'
shrink or hold) its score only falls and the others' only rise, so a user already on the candidate
stays there. No table is kept and nothing is shared between router replicas: they all agree.

Header lookups are case-insensitive as in HTTP: callers pass the request's `CIMultiDictProxy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from hashlib import blake2b

from ..api.router_config import Segment, Stickiness

Weights = Sequence[tuple[str, float]]
"""(version, percent) in the configuration's order."""

_SCALE = 2.0**64


def weighted_choice(weights: Weights, draw: float) -> str:
    """The version whose cumulative-weight interval holds `draw` (uniform in [0, 1))."""
    total = sum(weight for _, weight in weights)
    point = draw * total
    running = 0.0
    last = weights[0][0]
    for version, weight in weights:
        if weight <= 0.0:
            continue
        running += weight
        last = version
        if point < running:
            return version
    return last  # rounding at the top end of the last interval


def _uniform(user: str, version: str) -> float:
    """A uniform draw in (0, 1) fixed by (user, version)."""
    digest = blake2b(f"{version}\x00{user}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / _SCALE


def sticky_choice(weights: Weights, user: str) -> str:
    """The version `user` is pinned to under `weights` (see the module's docstring)."""
    best, best_score = weights[0][0], math.inf
    for version, weight in weights:
        if weight <= 0.0:
            continue
        score = -math.log(_uniform(user, version)) / weight
        if score < best_score:
            best, best_score = version, score
    return best


def user_identity(
    stickiness: Stickiness, headers: Mapping[str, str], cookies: Mapping[str, str]
) -> str | None:
    """The user's identity for a sticky split, None when the request carries none (it is then
    split by weight alone)."""
    if stickiness.header is not None:
        return headers.get(stickiness.header) or None
    assert stickiness.cookie is not None
    return cookies.get(stickiness.cookie) or None


def _matches(segment: Segment, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
    for match in segment.headers:
        if headers.get(match.name) != match.value:
            return False
    cookie = segment.cookie
    return cookie is None or cookies.get(cookie.name) == cookie.value


def segment_version(
    segments: Sequence[Segment], headers: Mapping[str, str], cookies: Mapping[str, str]
) -> str | None:
    """The version of the first segment the request matches, None when it matches none."""
    for segment in segments:
        if _matches(segment, headers, cookies):
            return segment.version
    return None
