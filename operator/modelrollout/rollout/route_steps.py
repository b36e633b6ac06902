"""The Canary's route steps: `setHeaderRoute`, `setMirrorRoute` and `setCanaryScale`.

They write `status.routes` and `status.canaryScale`, which the controller makes the traffic
provider's route objects and the Deployments say; a step completes once they are in force. A
header route or mirror to the candidate needs a pod of it to answer (`capacity.planned_replicas`
keeps one): its step first moves capacity, surge first as any move, and only once the candidate
is Available does the route enter `status.routes`, so no request is routed to a version without
a pod. A route removed leaves status at once (the controller takes it out of the routes before it
takes the candidate's last pod, as for weights).

Routes and the canary scale belong to the steps: `settle_routes` clears them whenever the rollout
is not running its steps (promoting, rolling back, aborted, undone, done) and drops any route to a
version other than the candidate, so everything goes back to the stable. Another strategy (an A/B
test) can send a segment to its candidate the same way: write `status.routes` while Progressing or
Paused, and the controller applies it.
"""

from __future__ import annotations

from ..api.v1alpha1 import (
    CanaryScale,
    CanaryStep,
    HeaderRoute,
    MirrorRoute,
    Phase,
    RoutesStatus,
    SetCanaryScale,
    SetHeaderRoute,
    SetMirrorRoute,
)
from ._decision_state import Run
from .capacity import Move, move_capacity, planned_replicas

__all__ = [
    "canary_scale_step",
    "clear_routes",
    "describe_route_step",
    "header_route_step",
    "mirror_route_step",
    "routes_when_ready",
    "settle_routes",
    "skip_route_wait",
    "with_header_route",
    "with_mirror_route",
]

_STEPPING = frozenset({Phase.PROGRESSING, Phase.PAUSED})


def with_header_route(routes: RoutesStatus | None, step: SetHeaderRoute, version: str) -> RoutesStatus:
    """`routes` after the step: its route replaced in place (or added last), or removed."""
    current = routes or RoutesStatus()
    headers = list(current.headers)
    index = next((i for i, route in enumerate(headers) if route.name == step.name), None)
    if step.match is None:
        headers = [route for route in headers if route.name != step.name]
    else:
        route = HeaderRoute(name=step.name, version=version, match=list(step.match))
        headers = [*headers, route] if index is None else [*headers[:index], route, *headers[index + 1 :]]
    return RoutesStatus(headers=headers, mirrors=list(current.mirrors))


def with_mirror_route(routes: RoutesStatus | None, step: SetMirrorRoute, version: str) -> RoutesStatus:
    """`routes` after the step: its mirror replaced in place (or added last), or removed."""
    current = routes or RoutesStatus()
    mirrors = list(current.mirrors)
    index = next((i for i, mirror in enumerate(mirrors) if mirror.name == step.name), None)
    if step.removes:
        mirrors = [mirror for mirror in mirrors if mirror.name != step.name]
    else:
        percentage = step.percentage if step.percentage is not None else 100
        mirror = MirrorRoute(
            name=step.name, version=version, percentage=percentage, match=list(step.match or [])
        )
        mirrors = [*mirrors, mirror] if index is None else [*mirrors[:index], mirror, *mirrors[index + 1 :]]
    return RoutesStatus(headers=list(current.headers), mirrors=mirrors)


def _normal(routes: RoutesStatus) -> RoutesStatus | None:
    """None for no routes at all, so status shows `routes` only while some are in force."""
    return routes if routes.headers or routes.mirrors else None


def header_route_step(run: Run, step: SetHeaderRoute) -> tuple[str, Move]:
    """The step's route in force, once the candidate has a pod; (what was done, the move)."""
    candidate = run.candidate or ""
    return routes_when_ready(run, with_header_route(run.status.routes, step, candidate), candidate)


def mirror_route_step(run: Run, step: SetMirrorRoute) -> tuple[str, Move]:
    """The step's mirror in force, once the candidate has a pod; (what was done, the move)."""
    candidate = run.candidate or ""
    return routes_when_ready(run, with_mirror_route(run.status.routes, step, candidate), candidate)


def routes_when_ready(run: Run, wanted: RoutesStatus, candidate: str) -> tuple[str, Move]:
    """`wanted` in force (`status.routes`) once `candidate` has the pod they need: the move is
    staged with the routes already counted, and status keeps the routes of before until it is
    done; (what is in force, the move). For any strategy that routes a segment to its candidate
    (call it on every `decide` until the move is done; the phase must be Progressing or Paused)."""
    before = run.status.routes
    run.status.routes = _normal(wanted)
    move = move_capacity(run, run.status.weights, _growing(run, candidate))
    if not move.done:
        run.status.routes = before
    elif before != run.status.routes:
        run.note_split_change()  # the candidate serves another share of requests from now on
    return f"{len(wanted.headers)} header route(s) and {len(wanted.mirrors)} mirror(s) in force", move


def skip_route_wait(run: Run, step: CanaryStep) -> None:
    """The route of a header or mirror step in force at once (a person promoted past the step):
    its capacity follows, as a weight's does when the wait for it is skipped."""
    candidate = run.candidate or ""
    routes = run.status.routes
    if step.set_header_route is not None:
        routes = with_header_route(routes, step.set_header_route, candidate)
    if step.set_mirror_route is not None:
        routes = with_mirror_route(routes, step.set_mirror_route, candidate)
    if routes != run.status.routes:
        run.note_split_change()
    run.status.routes = _normal(routes) if routes is not None else None


def _growing(run: Run, candidate: str) -> str:
    """The version a move to the candidate's planned size grows: the candidate, unless it
    shrinks (then the stable, so the candidate gives its pods up once the move is done)."""
    plan = planned_replicas(run, run.status.weights) or {}
    shrinks = plan.get(candidate, 0) < run.observations.deployment(candidate).replicas
    return run.stable if shrinks else candidate


def canary_scale_step(run: Run, step: SetCanaryScale) -> tuple[str, Move]:
    """The candidate's size as the step says, in force once the Deployments are at it."""
    candidate = run.candidate or ""
    if step.match_traffic_weight:
        run.status.canary_scale = None
    else:
        run.status.canary_scale = CanaryScale(replicas=step.replicas, weight=step.weight)
    move = move_capacity(run, run.status.weights, _growing(run, candidate))
    plan = planned_replicas(run, run.status.weights) or {}
    return f"{candidate} at {plan.get(candidate, 0)} replica(s)", move


def describe_route_step(step: CanaryStep) -> str:
    """`setHeaderRoute beta`, `setMirrorRoute copy 25%`, `setCanaryScale 2 replicas`: a route
    step as events and messages name it (a removal says so)."""
    if step.set_header_route is not None:
        header = step.set_header_route
        return f"setHeaderRoute {header.name}" + (" removed" if header.match is None else "")
    if step.set_mirror_route is not None:
        mirror = step.set_mirror_route
        share = (
            "removed" if mirror.removes else f"{mirror.percentage if mirror.percentage is not None else 100}%"
        )
        return f"setMirrorRoute {mirror.name} {share}"
    scale = step.set_canary_scale
    if scale is None or scale.match_traffic_weight:
        return "setCanaryScale matchTrafficWeight"
    if scale.replicas is not None:
        return f"setCanaryScale {scale.replicas} replicas"
    return f"setCanaryScale {scale.weight}%"


def clear_routes(run: Run) -> None:
    """No header route, mirror or canary scale in force: everything back to the weights."""
    if run.status.routes is not None:
        run.note_split_change()
    run.status.routes = None
    run.status.canary_scale = None


def settle_routes(run: Run) -> None:
    """Routes and the canary scale stand only while the candidate runs its steps, and only to it."""
    status = run.status
    candidate = run.candidate
    if candidate is None or status.phase not in _STEPPING:
        clear_routes(run)
        return
    routes = status.routes
    if routes is None:
        return
    kept = RoutesStatus(
        headers=[route for route in routes.headers if route.version == candidate],
        mirrors=[mirror for mirror in routes.mirrors if mirror.version == candidate],
    )
    status.routes = _normal(kept)
