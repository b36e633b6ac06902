"""The model router's contract: the ConfigMap `<rollout>-router` that says where requests go.

The router reads nothing else about a rollout, so this schema is the whole interface between
whoever decides (a test, later the `router` traffic provider) and the data plane. It is versioned
(`schemaVersion`) because a router and an operator of different releases meet during an upgrade:
a router refuses a version it does not know and keeps serving its last good configuration.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "CONFIG_KEY",
    "SCHEMA_VERSION",
    "Bandit",
    "HeaderMatch",
    "Interleaving",
    "RouterConfig",
    "RouterVersion",
    "Segment",
    "Shadow",
    "Stickiness",
    "config_map_name",
]

SCHEMA_VERSION: Final = "modelrollout.io/router/v1"
CONFIG_KEY = "router.json"
"""The ConfigMap's data key holding the configuration as JSON."""

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
Name = Annotated[str, Field(pattern=_NAME, max_length=63)]


def config_map_name(rollout: str) -> str:
    return f"{rollout}-router"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="forbid",
        frozen=True,
    )


class RouterVersion(_Model):
    """One model version the router may send requests to."""

    name: Name
    """The version, e.g. `v7` (the `version` label of the router's metrics)."""
    service: Name
    """A Service selecting only this version's pods: the router reads its EndpointSlices (pod IPs),
    never its ClusterIP, as a mesh does."""
    port: int | str = 8080
    """The target port on the pods: a number, or the name of a port of the EndpointSlices."""
    weight: float = Field(default=0.0, ge=0.0, le=100.0)
    """Percent of user requests (after segments) this version answers; weights sum to 100."""
    timeout_seconds: float = Field(default=10.0, gt=0.0, le=300.0)
    """Per-request timeout towards this version's pods."""


class Stickiness(_Model):
    """Where the user's identity is read for a sticky split: exactly one of header or cookie."""

    header: str | None = None
    cookie: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Stickiness:
        if (self.header is None) == (self.cookie is None):
            raise ValueError("stickiness needs exactly one of header or cookie")
        return self


class HeaderMatch(_Model):
    """An exact match on one request header (names are case-insensitive, as in HTTP)."""

    name: str = Field(min_length=1)
    value: str


class Segment(_Model):
    """Requests matching every header (and the cookie, if given) all go to `version`."""

    name: Name
    headers: list[HeaderMatch] = Field(default_factory=list)
    cookie: HeaderMatch | None = None
    """A cookie name and the exact value it must have."""
    version: Name

    @model_validator(mode="after")
    def _matches_something(self) -> Segment:
        if not self.headers and self.cookie is None:
            raise ValueError(f"segment {self.name!r} matches nothing: give headers or a cookie")
        return self


class Shadow(_Model):
    """A copy of user requests goes to `version`; its answer is compared, never returned."""

    version: Name
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """The fraction of user requests copied."""
    max_concurrency: int = Field(default=32, ge=1, le=10_000)
    """Copies in flight at most; a copy beyond it is dropped (and counted), never queued."""


class Interleaving(_Model):
    """Team-draft interleaving of two versions' ranked lists, for ranking endpoints."""

    versions: tuple[Name, Name]
    """The two versions whose lists are merged (stable first by convention)."""
    list_field: str = "ranking"
    """The response field (in v1 `predictions[0]`, or top level) holding the ranked list of ids."""
    length: int = Field(default=10, ge=1, le=1000)
    """How many items the merged list holds."""


class Bandit(_Model):
    """A bandit experiment: the router counts each version's pulls and takes Beta-Bernoulli
    rewards at `/feedback`. Who splits the requests depends on `mode`."""

    mode: Literal["thompson", "weights"] = "thompson"
    """`thompson` (the default): the router's own Thompson sampler chooses per request from the
    rewards this process received (`minWeight` as floors); the versions' weights are ignored.
    `weights`: the versions' weights are served exactly as in a plain split (the operator's
    `strategy.type: Bandit` sets them once per interval from every router's counters); every
    request is still a counted pull and rewards are still taken, so the counters stay the
    experiment's evidence."""
    prior_alpha: float = Field(default=1.0, gt=0.0)
    prior_beta: float = Field(default=1.0, gt=0.0)
    min_weight: dict[str, float] = Field(default_factory=dict)
    """Version -> percent it receives at least (a floor for the stable)."""


class RouterConfig(_Model):
    """The whole ConfigMap payload (`data["router.json"]`)."""

    schema_version: Literal["modelrollout.io/router/v1"] = "modelrollout.io/router/v1"
    model: Name
    """The model name in request paths (`/v1/models/<model>:predict`)."""
    versions: list[RouterVersion] = Field(min_length=1, max_length=16)
    stickiness: Stickiness | None = None
    segments: list[Segment] = Field(default_factory=list)
    shadow: Shadow | None = None
    interleaving: Interleaving | None = None
    bandit: Bandit | None = None
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)

    @model_validator(mode="after")
    def _consistent(self) -> RouterConfig:
        names = [v.name for v in self.versions]
        if len(set(names)) != len(names):
            raise ValueError(f"versions repeat a name: {names}")
        known = set(names)
        referenced = [s.version for s in self.segments]
        referenced += [self.shadow.version] if self.shadow else []
        referenced += list(self.interleaving.versions) if self.interleaving else []
        referenced += list(self.bandit.min_weight) if self.bandit else []
        unknown = sorted(set(referenced) - known)
        if unknown:
            raise ValueError(f"unknown versions {unknown}; versions are {names}")
        weighted = self.bandit is None or self.bandit.mode == "weights"
        if weighted and abs(sum(v.weight for v in self.versions) - 100.0) > 1e-6:
            raise ValueError(f"weights sum to {sum(v.weight for v in self.versions)}, not 100")
        if self.bandit is not None and self.bandit.mode == "weights" and self.bandit.min_weight:
            raise ValueError(
                "bandit minWeight is for mode thompson; with mode weights the weights are served"
            )
        if self.bandit is not None and sum(self.bandit.min_weight.values()) > 100.0:
            raise ValueError("bandit minWeight floors sum past 100")
        return self


# The router's Prometheus series. Every one carries `namespace`, `model` and `version` (the
# version that answered, or was copied to, credited or pulled). Their shapes follow the model
# servers' conventions (`metrics/queries.py`), so the analysis' default queries read them with
# only the names changed when a rollout goes through the router; shadow copies have series of
# their own so that they are never summed with what users were served.
ROUTER_REQUESTS = "modelrollout_router_requests_total"
"""Counter of user requests answered, with `outcome` (`success` | `error`) and `code`."""
ROUTER_LATENCY = "modelrollout_router_request_duration_seconds"
"""Histogram of the time the router waited for the version's answer."""
ROUTER_PREDICTION = "modelrollout_router_prediction"
"""Histogram of the scores the version returned (drift)."""
ROUTER_SHADOW_REQUESTS = "modelrollout_router_shadow_requests_total"
"""Counter of shadow copies sent, with `outcome` (`success` | `error` | `dropped`)."""
ROUTER_SHADOW_LATENCY = "modelrollout_router_shadow_request_duration_seconds"
ROUTER_SHADOW_AGREEMENT = "modelrollout_router_shadow_agreements_total"
"""Counter of compared predictions, with `agree` (`true` | `false`): classes equal or not."""
ROUTER_SHADOW_DIFFERENCE = "modelrollout_router_shadow_prediction_difference"
"""Histogram of |shadow score - served score|."""
ROUTER_SHADOW_LATENCY_DIFFERENCE = "modelrollout_router_shadow_latency_difference_seconds"
"""Histogram of shadow latency - served latency (may be negative: buckets span both signs)."""
ROUTER_INTERLEAVING_IMPRESSIONS = "modelrollout_router_interleaving_impressions_total"
ROUTER_INTERLEAVING_WINS = "modelrollout_router_interleaving_wins_total"
"""Counter of impressions each version won on clicks (`version="tie"` for ties)."""
ROUTER_BANDIT_PULLS = "modelrollout_router_bandit_pulls_total"
ROUTER_BANDIT_REWARDS = "modelrollout_router_bandit_rewards_total"
ROUTER_BANDIT_FEEDBACK = "modelrollout_router_bandit_feedback_total"
"""Counter of rewards received (0 or 1); `ROUTER_BANDIT_REWARDS` counts those of 1, so their ratio
is the version's observed reward rate."""
ROUTER_READY_ENDPOINTS = "modelrollout_router_ready_endpoints"
"""Gauge of the version's ready pods the router sends to (from its EndpointSlices)."""
ROUTER_CONFIG_VALID = "modelrollout_router_config_valid"
"""Gauge (labels `namespace`, `config_map`): 1 while the ConfigMap's content is served, 0 while
it is refused and the last good configuration serves instead."""
ROUTER_CONFIG_REJECTIONS = "modelrollout_router_config_rejections_total"
"""Counter (labels `namespace`, `config_map`) of ConfigMap contents refused."""
ROUTER_OVERLOAD_REJECTIONS = "modelrollout_router_overload_rejections_total"
"""Counter (label `namespace`) of requests answered 503 because the router's queue was full."""

ROUTER_ROLE_RULES: Final = (
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
)
"""What the router's ServiceAccount needs in its namespace (a Role): it reads its ConfigMap and
the versions' EndpointSlices, and writes nothing."""
