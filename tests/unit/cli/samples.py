"""ModelRollouts as the apiserver returns them, for the plugin's formatting tests."""

from __future__ import annotations

from typing import Any

STEPS = [{"setWeight": 25}, {"pause": {}}, {"analysis": {"maxDuration": "5m"}}, {"setWeight": 50}]


def rollout(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "modelrollout.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {
            "name": "fraud-scorer",
            "namespace": "team-a",
            "creationTimestamp": "2026-12-06T10:00:00Z",
        },
        "spec": {
            "model": "fraud-scorer",
            "service": "fraud-scorer",
            "stable": {"version": "v1"},
            "candidate": {"version": "v2"},
            "strategy": {"type": "Canary", "canary": {"steps": STEPS}},
            "analysis": {
                "prometheus": {"address": "http://prometheus.monitoring:9090"},
                "metrics": [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}],
            },
            **spec,
        },
    }
    if status is not None:
        body["status"] = status
    return body


PAUSED_AT_STEP_2 = {
    "phase": "Paused",
    "pausedReason": "PausedByStep",
    "message": "paused by step 2 until promoted",
    "stableVersion": "v1",
    "candidateVersion": "v2",
    "candidateWeight": 25,
    "weights": {"v1": 75, "v2": 25},
    "currentStep": 1,
    "rolloutStartedAt": "2026-12-06T10:01:00Z",
    "selector": "modelrollout.io/rollout=fraud-scorer",
}

ANALYSING = {
    **PAUSED_AT_STEP_2,
    "phase": "Progressing",
    "pausedReason": None,
    "currentStep": 2,
    "analysis": {
        "verdict": "Inconclusive",
        "runs": 3,
        "score": 50.0,
        "lastRun": "2026-12-06T10:03:00Z",
        "message": "errors: not enough evidence yet",
        "metrics": [
            {
                "name": "errors", "verdict": "Inconclusive", "stable": 0.0101, "candidate": 0.0125,
                "effect": 0.0024, "intervalLow": -0.0011, "intervalHigh": 0.0061, "eValue": 2.5,
                "samplesStable": 3000, "samplesCandidate": 1000,
                "explanation": "error rate +0.24 points, e-value 2.5 below 20",
            },
            {
                "name": "p95", "verdict": "Pass", "stable": 0.12, "candidate": 0.118, "effect": -0.002,
                "pValue": 0.000012, "samplesStable": 3000, "samplesCandidate": 1000, "dryRun": True,
            },
        ],
    },
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "StableAvailable", "message": "v1 is available",
         "lastTransitionTime": "2026-12-06T10:00:10Z"},
        {"type": "AnalysisPassing", "status": "Unknown", "reason": "AnalysisInconclusive", "message": "",
         "lastTransitionTime": "2026-12-06T10:02:00Z"},
    ],
    "lastAction": {"verb": "promote", "nonce": "1a2b3c4d", "at": "2026-12-06T10:02:00Z", "result": "step 2 completed"},
}  # fmt: skip


def deployment(version: str, ready: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"fraud-scorer-{version}", "labels": {"modelrollout.io/version": version}},
        "status": {"readyReplicas": ready},
    }


def event(reason: str, message: str, at: str, kind: str = "Normal") -> dict[str, Any]:
    return {"type": kind, "reason": reason, "message": message, "lastTimestamp": at, "metadata": {}}
