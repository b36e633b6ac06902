"""Properties of `decide` over random histories: idempotence, restart, and traffic safety.

Each example is a sequence of things that happen to a ModelRollout (reconciles with or without
the cluster catching up, lost actions, manual actions, verdicts, spec edits, an HPA, a missing
Service, upstream trouble); after every reconcile the properties are checked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Phase, Verdict
from modelrollout.rollout import (
    ActionVerb,
    ApplyWeights,
    Decision,
    EmitEvent,
    ManualAction,
    Observations,
    PruneVersions,
    RecordLineage,
    RetireVersion,
    UpstreamState,
    decide,
)

from ...fixtures.rollout_world import World, make_spec, ready

STEPS = [
    {"setWeight": 10},
    {"analysis": {}},
    {"pause": {"duration": "30s"}},
    {"pause": {}},
    {"setWeight": 50},
]
ANALYSIS = {"interval": "30s", "maxDuration": "2m"}

reconciles = st.tuples(
    st.just("reconcile"),
    st.booleans(),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([0, 1, 10, 30, 60, 200]),
)
"""Settle or not; lose the actions (a crash after the status was saved) now and then; time passes."""
events = st.one_of(
    st.tuples(st.just("action"), st.sampled_from(list(ActionVerb))),
    st.tuples(st.just("verdict"), st.sampled_from(list(Verdict))),
    st.tuples(st.just("candidate"), st.sampled_from([None, "v8", "v9"])),
    st.tuples(st.just("paused"), st.booleans()),
    st.tuples(st.just("service"), st.booleans()),
    st.tuples(st.just("blocking"), st.booleans()),
    st.tuples(st.just("failed"), st.booleans()),
    st.tuples(st.just("hpa"), st.integers(min_value=0, max_value=4)),
    st.tuples(st.just("template_error"), st.booleans()),
)
happenings = st.tuples(st.one_of(st.none(), st.none(), events), reconciles)
"""Something happens (or not), then the operator reconciles."""


class Story:
    """The world of one example, with the toggles the happenings flip."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {"candidate": "v8", "paused": False}
        self.world = World(self._spec(), deployments=ready(v7=3))
        self.status = ModelRolloutStatus()
        self.verdict: Verdict | None = Verdict.PASS
        self.nonce = 0
        self.upstream: dict[str, Any] = {}

    def _spec(self) -> Any:
        return make_spec(STEPS, analysis=ANALYSIS, **self.fields)

    def happen(self, happening: tuple[Any, ...]) -> None:
        kind, *args = happening
        extra = self.world.extra
        if kind == "reconcile":
            self.reconcile(settle=args[0], drop=args[1])
            self.world.now += timedelta(seconds=args[2])
        elif kind == "action":
            self.nonce += 1
            extra["action"] = ManualAction(args[0], str(self.nonce))
        elif kind == "verdict":
            self.verdict = args[0]
        elif kind in ("candidate", "paused"):
            self.fields[kind] = args[0]
            self.world.spec = self._spec()
            self.world.generation += 1
        elif kind == "service":
            extra["service_exists"] = args[0]
        elif kind in ("blocking", "failed"):
            if args[0]:
                self.upstream[f"{kind}_models"] = ("encoder",) if kind == "blocking" else (("encoder", 0.9),)
            else:
                self.upstream.pop(f"{kind}_models", None)
            extra["upstream"] = UpstreamState(**self.upstream)
        elif kind == "hpa":
            candidate = self.status.candidate_version
            if candidate in self.world.deployments:
                self.world.deployments[candidate] = ready(**{candidate: args[0]})[candidate]
        elif kind == "template_error":
            extra["template_error"] = "spec.containers: Required value" if args[0] else None

    def reconcile(self, *, settle: bool, drop: bool) -> None:
        world = self.world
        world.judge(self.status, self.verdict)
        observations = world.observe(self.status)
        decision = decide(world.spec, self.status, observations, world.now)
        check_decision(world, self.status, observations, decision)
        if not drop:
            world.apply(decision.actions)
            check_stable_serves(world, decision.status)
        if settle:
            world.settle()
        self.status = decision.status


def essentials(status: ModelRolloutStatus) -> dict[str, Any]:
    """What a repeated call must not change (messages may be reworded)."""
    dumped = status.model_dump(mode="json", exclude={"message"})
    dumped["conditions"] = [(c.type, c.status, c.last_transition_time) for c in status.conditions]
    return dumped


def check_decision(
    world: World, before: ModelRolloutStatus, observed: Observations, decision: Decision
) -> None:
    status = decision.status
    stable = status.stable_version
    assert stable is not None
    if status.weights:
        assert sum(status.weights.values()) == 100
        assert next(iter(status.weights)) == stable
        assert status.weights.get(status.candidate_version or "", 0) == status.candidate_weight
        if status.phase in (Phase.PROGRESSING, Phase.PAUSED):
            assert status.weights[stable] >= 1, "the stable keeps traffic until promotion"
    for action in decision.actions:
        manual = status.last_action != before.last_action  # a person may skip the wait
        if isinstance(action, ApplyWeights) and status.phase in _MOVING and not manual:
            now, after = _available(observed, action.replicas)
            assert after >= min(now, world.spec.replicas), "surge first: no Available pod given up early"
        if isinstance(action, RetireVersion):
            assert action.version not in (stable, status.candidate_version)
        if isinstance(action, PruneVersions):
            assert stable in action.keep
            assert status.candidate_version is None or status.candidate_version in action.keep

    again = decide(world.spec, status, observed, world.now)
    assert essentials(again.status) == essentials(status), "a repeated call changed the status"
    repeated = [a for a in again.actions if isinstance(a, EmitEvent | RecordLineage)]
    assert repeated == [], "a repeated call announced a transition again"

    restarted = ModelRolloutStatus.model_validate(before.model_dump(mode="json", by_alias=True))
    replay = decide(world.spec, restarted, observed, world.now)
    assert replay.status.model_dump(mode="json") == status.model_dump(mode="json")
    assert replay.actions == decision.actions


_MOVING = (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING)
"""Phases in which capacity moves surge first (a rollback moves at once, towards the stable)."""


def _available(observed: Observations, replicas: dict[str, int] | Any) -> tuple[int, int]:
    """Available pods of the named versions now, and once scaled to `replicas` (a pod given up
    is one fewer; new pods are not Available yet)."""
    states = {version: observed.deployment(version) for version in replicas}
    now = sum(min(s.available_replicas, s.replicas) for s in states.values() if s.exists)
    after = sum(min(s.available_replicas, s.replicas, replicas[v]) for v, s in states.items() if s.exists)
    return now, after


def check_stable_serves(world: World, status: ModelRolloutStatus) -> None:
    """Once the stable ran, no decision leaves it without replicas (the old stable is kept at
    its size through Promoting and only retired once the new one is the stable)."""
    stable = status.stable_version
    if stable in world.deployments and status.weights:
        assert world.deployments[stable].replicas >= 1


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(happenings, min_size=1, max_size=60))
@example(  # an abort left on the object while the spec named a new candidate during the rollback
    [
        (None, ("reconcile", False, False, 0)),
        (("action", ActionVerb.ABORT), ("reconcile", False, False, 0)),
        (("candidate", "v9"), ("reconcile", False, False, 0)),
    ]
)
def test_decide_is_idempotent_restartable_and_safe(history: list[tuple[Any, ...]]) -> None:
    story = Story()
    for event, reconcile in history:
        if event is not None:
            story.happen(event)
        story.happen(reconcile)
