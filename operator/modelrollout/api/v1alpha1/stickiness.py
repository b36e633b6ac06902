"""`spec.strategy.canary.stickiness`: a weighted split that keeps each user on one version.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from . import stickiness_rules as rules
from ._model import ApiModel
from ._model import require as _require
from .cel import CelRule
from .enums import TrafficProvider
from .routes import COOKIE_NAME_PATTERN, HEADER_NAME_PATTERN


class StickinessSpec(ApiModel):
    """Who the user is, for a sticky split: exactly one of `header` and `cookie`. Each user is
    hashed onto the versions by their weights (weighted rendezvous hashing in the model router):
    a user keeps the same version while the weights hold, and a user already on the candidate
    stays there as its weight grows. A request without the header or cookie is split by weight
    alone. Needs traffic.provider router."""

    header: str | None = Field(default=None, pattern=HEADER_NAME_PATTERN, max_length=256)
    """The request header naming the user, e.g. `x-user-id` (matched case-insensitively)."""
    cookie: str | None = Field(default=None, pattern=COOKIE_NAME_PATTERN, max_length=128)
    """The cookie naming the user, e.g. `session`."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _require((self.header is None) != (self.cookie is None), rules.STICKINESS_EXACTLY_ONE)
        return self


def stickiness_refusal(provider: TrafficProvider, stickiness: StickinessSpec | None) -> CelRule | None:
    """The rule a sticky split breaks with `provider` (None: the provider serves it), for pydantic."""
    if stickiness is not None and provider != TrafficProvider.ROUTER:
        return rules.STICKINESS_NEEDS_ROUTER
    return None
