"""ModelRollout specs for e2e tests: v1 stable at 4 replicas, a v2 candidate, the steps and any
other field the test names."""

from __future__ import annotations

from typing import Any

from modelrollout_dev.manifests import pod_template

from .env import Env


def base_spec(
    env: Env, *, steps: list[dict[str, Any]], candidate: str | None = "v2", **overrides: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": env.model,
        "service": env.model,
        "replicas": 4,
        "stable": {"version": "v1", "template": pod_template({"app": env.model})},
        "strategy": {"type": "Canary", "canary": {"steps": steps}},
    }
    if candidate:
        spec["candidate"] = {
            "version": candidate,
            "template": pod_template({"app": env.model}, image=f"registry.local/{env.model}:{candidate}"),
            "parameters": {"learningRate": 0.01, "artifact": f"s3://models/{env.model}/{candidate}"},
        }
    spec.update(overrides)
    return spec


def spec_for_model(
    env: Env, model: str, *, steps: list[dict[str, Any]], candidate: str | None = "v2", **overrides: Any
) -> dict[str, Any]:
    """`base_spec` for another model in the same namespace (a second ModelRollout)."""
    spec = base_spec(env, steps=steps, candidate=None, **overrides)
    spec["model"] = spec["service"] = model
    spec["stable"]["template"] = pod_template({"app": model})
    if candidate:
        spec["candidate"] = {
            "version": candidate,
            "template": pod_template({"app": model}, image=f"registry.local/{model}:{candidate}"),
        }
    return spec
