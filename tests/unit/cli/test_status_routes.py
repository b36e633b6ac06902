"""`kubectl modelrollout status` shows the header routes, mirrors and canary scale in force, and
names the route steps."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import describe_step, render_status

STATUS = {
    "phase": "Paused",
    "weights": {"v1": 90, "v2": 10},
    "routes": {
        "headers": [{"name": "beta", "version": "v2", "match": [
            {"headerName": "x-beta", "headerValue": {"exact": "true"}},
            {"cookie": {"name": "segment", "value": "beta"}},
        ]}],
        "mirrors": [{"name": "copy", "version": "v2", "percentage": 25, "match": [
            {"headerName": "x-tenant", "headerValue": {"prefix": "acme"}}]}],
    },
    "canaryScale": {"replicas": 2},
}  # fmt: skip


def test_the_routes_in_force_are_listed_under_the_weights() -> None:
    rollout = {"metadata": {"name": "fraud", "namespace": "ml"}, "spec": {}, "status": STATUS}
    text = render_status(rollout, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert "  header     beta: x-beta = true and cookie segment = beta -> v2\n" in text
    assert "  mirror     copy: 25% of x-tenant ^= acme copied to v2\n" in text
    assert "  scale      candidate at 2 replica(s) whatever its weight\n" in text


def test_route_steps_are_named_in_the_step_list() -> None:
    assert describe_step({"setHeaderRoute": {"name": "beta"}}) == "setHeaderRoute beta removed"
    assert describe_step({"setMirrorRoute": {"name": "c", "percentage": 5}}) == "setMirrorRoute c 5%"
    assert describe_step({"setCanaryScale": {"weight": 20}}) == "setCanaryScale 20%"
