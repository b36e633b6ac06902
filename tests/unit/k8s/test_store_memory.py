"""What the watch caches hold per rollout stays small (issue 22: at most 100 KB per rollout for the
whole operator). A ModelRollout with an analysis status, its two Deployments and its Service as
listed from the scale benchmark's cluster were 53 KB per rollout as Python dicts and are 8 KB
stored compressed; the smaller objects built here, 31 KB and 5 KB."""

from __future__ import annotations

import copy
import gc
import json
import tracemalloc
from typing import Any

from modelrollout.k8s import ObjectStore
from modelrollout.k8s._cached import DEPLOYMENT_INDEXES, ROLLOUT_INDEXES

ROLLOUTS = 200
BOUND_KB = 12.0
"""Per rollout, all three stores: 5 KB measured, 31 KB when they were held as dicts."""


def _metadata(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name, "namespace": "bench", "uid": f"{name}-0000-1111-2222-333344445555",
        "resourceVersion": "12345", "generation": 3, "creationTimestamp": "2026-12-06T12:00:00Z",
        "labels": labels, "annotations": {"modelrollout.io/outbox": "{}", "note": name * 4},
        "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}],
    }  # fmt: skip


def _rollout(i: int) -> dict[str, Any]:
    metric = {"name": "latency", "verdict": "Inconclusive", "stable": 0.12, "candidate": 0.125,
              "effect": 0.04, "intervalLow": -0.01, "intervalHigh": 0.08, "pValue": 0.3,
              "samplesStable": 1200, "samplesCandidate": 310, "message": "not enough requests yet"}  # fmt: skip
    return {
        "kind": "ModelRollout",
        "metadata": _metadata(f"r-{i}", {}),
        "spec": {"model": f"model-{i}", "service": f"svc-{i}", "stable": {"version": "v1"},
                 "candidate": {"version": "v2"}, "steps": [{"setWeight": 10}, {"analysis": {}}] * 3,
                 "analysis": {"interval": "30s", "metrics": [{"name": "latency", "type": "Latency"}] * 2}},
        "status": {"phase": "Progressing", "weights": {"v1": 90, "v2": 10},
                   "conditions": [{"type": "Degraded", "status": "False", "reason": "Healthy"}] * 3,
                   "analysis": {"verdict": "Inconclusive", "metrics": [metric, {**metric, "name": "errors"}]}},
    }  # fmt: skip


def _deployment(i: int, version: str) -> dict[str, Any]:
    labels = {"modelrollout.io/rollout": f"r-{i}", "modelrollout.io/model": f"model-{i}", "version": version}
    container = {"name": "server", "image": f"registry/model:{version}", "ports": [{"containerPort": 8080}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}, "env": [{"name": "A", "value": "b"}] * 4}  # fmt: skip
    return {
        "kind": "Deployment",
        "metadata": _metadata(f"model-{i}-{version}", labels),
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}] * 2},
    }  # fmt: skip


def _service(i: int) -> dict[str, Any]:
    return {"kind": "Service", "metadata": _metadata(f"svc-{i}", {}),
            "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"model": f"model-{i}"}}}  # fmt: skip


def test_the_caches_hold_a_rollout_its_deployments_and_its_service_in_a_few_kb() -> None:
    sent = [
        json.dumps(obj)
        for i in range(ROLLOUTS)
        for obj in (_rollout(i), _deployment(i, "v1"), _deployment(i, "v2"), _service(i))
    ]
    stores = {
        "ModelRollout": ObjectStore("ModelRollout", ROLLOUT_INDEXES),
        "Deployment": ObjectStore("Deployment", DEPLOYMENT_INDEXES),
        "Service": ObjectStore("Service"),
    }
    as_dicts = [json.loads(text) for text in sent[:4]]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for text in sent:
            obj = json.loads(text)  # what a watch event's JSON becomes
            stores[obj["kind"]].put(obj, "ADDED")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert held / 1024 / ROLLOUTS < BOUND_KB
    assert stores["ModelRollout"].get("bench", "r-0") == {
        **as_dicts[0],
        "metadata": {k: v for k, v in as_dicts[0]["metadata"].items() if k != "managedFields"},
    }, "what is read back is what was sent, without managedFields"
    assert (
        copy.deepcopy(stores["Deployment"].indexed("modelrollout.io/rollout", "bench", "r-7"))[0]["spec"][
            "replicas"
        ]
        == 1
    )
