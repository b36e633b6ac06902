"""Everything one e2e test touches, and how it reads the cluster: ModelRollouts, their status and
Events, the Deployments and Service endpoints the operator manages."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from modelrollout_dev import LocalCluster, PrometheusServer
from modelrollout_dev.model_traffic import ModelTraffic

from .processes import OperatorProcess


@dataclass
class Env:
    """Everything one test touches; torn down by the fixture."""

    cluster: LocalCluster
    namespace: str
    operator: OperatorProcess
    """The operator under test (with leader election: the replica that leads first)."""
    followers: list[OperatorProcess] = field(default_factory=list)
    """Further replicas of the operator, waiting for the leader's Lease."""
    prometheus: PrometheusServer | None = None
    traffic: ModelTraffic | None = None
    name: str = "fraud-scorer"
    model: str = "fraud-scorer"
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Stop what the test started: its operator, the simulated traffic, Prometheus."""
        self.operator.stop()
        if self.traffic is not None:
            self.traffic.stop()
        if self.prometheus is not None:
            self.prometheus.stop(remove=True)

    def rollout(self, name: str | None = None) -> dict[str, Any]:
        out = self.cluster.kubectl(
            "get", "modelrollout", name or self.name, "-n", self.namespace, "-o", "json"
        )
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def status(self, name: str | None = None) -> dict[str, Any]:
        return dict(self.rollout(name).get("status") or {})

    def deployments(self) -> dict[str, dict[str, Any]]:
        out = self.cluster.kubectl("get", "deployments", "-n", self.namespace, "-o", "json")
        return {d["metadata"]["name"]: d for d in json.loads(out.stdout)["items"]}

    def replicas(self) -> dict[str, int]:
        return {name: int(d["spec"].get("replicas") or 0) for name, d in self.deployments().items()}

    def events(self) -> list[dict[str, Any]]:
        out = self.cluster.kubectl("get", "events", "-n", self.namespace, "-o", "json")
        return list(json.loads(out.stdout)["items"])

    def event_reasons(self) -> list[str]:
        return [e["reason"] for e in self.events() if e["involvedObject"].get("kind") == "ModelRollout"]

    def rollout_events(self, name: str | None = None) -> list[tuple[str, str]]:
        """(reason, message) of one ModelRollout's Events in the order they were created (each Event
        is its own object, so a repeated announcement shows as a second entry)."""
        wanted = name or self.name
        mine = [
            e for e in self.events()
            if e["involvedObject"].get("kind") == "ModelRollout" and e["involvedObject"].get("name") == wanted
        ]  # fmt: skip
        mine.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
        return [(e["reason"], e.get("message", "")) for e in mine]


def promql(env: Env, query: str) -> dict[tuple[tuple[str, str], ...], float]:
    """An instant query to the test's Prometheus: each series' labels (sorted, without
    `instance` and `job`) with its value."""
    assert env.prometheus is not None, "the test has no Prometheus"
    url = f"{env.prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return {
        tuple(sorted((k, v) for k, v in item["metric"].items() if k not in ("instance", "job"))): float(
            item["value"][1]
        )
        for item in answer["data"]["result"]
    }


LEASE_NAMESPACE, LEASE_NAME = "modelrollout-system", "modelrollout-operator"
"""The leader election Lease of the installed operator (manifests/install/rbac.yaml grants it)."""


def lease(env: Env) -> dict[str, Any]:
    """The leader election Lease's spec ({} while there is none)."""
    out = env.cluster.kubectl(
        "get", "lease", LEASE_NAME, "-n", LEASE_NAMESPACE, "-o", "json", "--ignore-not-found"
    )  # fmt: skip
    return dict(json.loads(out.stdout).get("spec") or {}) if out.stdout.strip() else {}


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions", [])}


def ready_replicas(env: Env) -> dict[str, int]:
    """Ready replicas per Deployment name, as the Deployment controller reports them."""
    return {name: int(d.get("status", {}).get("readyReplicas") or 0) for name, d in env.deployments().items()}


def ready_endpoints_by_version(env: Env, service_name: str) -> dict[str, int]:
    """Ready endpoints of the Service's EndpointSlices, counted by the serving pod's version."""
    selector = f"kubernetes.io/service-name={service_name}"
    listed = env.cluster.kubectl("get", "endpointslices", "-n", env.namespace, "-l", selector, "-o", "json")
    slices = json.loads(listed.stdout)["items"]
    pods = json.loads(env.cluster.kubectl("get", "pods", "-n", env.namespace, "-o", "json").stdout)["items"]
    version_of = {
        p["metadata"]["name"]: p["metadata"].get("labels", {}).get("modelrollout.io/version") for p in pods
    }
    counts: dict[str, int] = {}
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or []:
            if not (endpoint.get("conditions") or {}).get("ready"):
                continue
            version = version_of.get((endpoint.get("targetRef") or {}).get("name", ""), "?") or "?"
            counts[version] = counts.get(version, 0) + 1
    return counts
