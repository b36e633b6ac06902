"""Given/When/Then for end-to-end tests: the operator as a local process on its own least-privilege
ServiceAccount, a real cluster, a real Prometheus scraping simulated model traffic.

Read a test as: Given(objects) -> When(change, then WAIT for the state) -> Then(assert only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelrollout_dev import LocalCluster, PrometheusServer
from modelrollout_dev.manifests import pod_template, service
from modelrollout_dev.model_traffic import Behaviour, ModelTraffic, ready_pods_reader

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class OperatorProcess:
    cluster: LocalCluster
    namespace: str
    kubeconfig: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelrollout", "--namespace", self.namespace,
             "--kubeconfig", str(self.kubeconfig), "--resync-seconds", "2"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crashed pod."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Env:
    """Everything one test touches; torn down by the fixture."""

    cluster: LocalCluster
    namespace: str
    operator: OperatorProcess
    prometheus: PrometheusServer | None = None
    traffic: ModelTraffic | None = None
    name: str = "fraud-scorer"
    model: str = "fraud-scorer"
    extra: dict[str, Any] = field(default_factory=dict)

    # -- reading ------------------------------------------------------------------------------
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


class Given:
    def __init__(self, env: Env) -> None:
        self.env = env

    def service(self) -> Given:
        body = service(self.env.model, self.env.namespace, {"modelrollout.io/model": self.env.model})
        self.env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
        return self

    def model_traffic(self, behaviours: dict[str, Behaviour], rps: float = 300.0) -> Given:
        """Simulated clients calling the Service, scraped by a real Prometheus every second."""
        env = self.env
        traffic = ModelTraffic(
            namespace=env.namespace, model=env.model, rps=rps, behaviours=behaviours,
            ready_pods=ready_pods_reader(
                lambda *a: env.cluster.kubectl(*a), env.namespace, env.model
            ),
        ).start()  # fmt: skip
        env.traffic = traffic
        env.prometheus = PrometheusServer(targets=[traffic.target]).start()
        return self

    def analysis(self, metrics: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        assert self.env.prometheus is not None, "call model_traffic() first"
        analysis = {
            "interval": "5s", "minSamples": 100, "maxDuration": "60s",
            "prometheus": {"address": self.env.prometheus.url}, "metrics": metrics,
        }  # fmt: skip
        analysis.update(options)
        return analysis

    def rollout(self, spec: dict[str, Any], name: str | None = None) -> When:
        self.apply(spec, name)
        return When(self.env)

    def apply(self, spec: dict[str, Any], name: str | None = None) -> Given:
        body = {
            "apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout",
            "metadata": {"name": name or self.env.name, "namespace": self.env.namespace}, "spec": spec,
        }  # fmt: skip
        self.env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
        return self

    def when(self) -> When:
        return When(self.env)


class When:
    def __init__(self, env: Env) -> None:
        self.env = env

    def wait_for_phase(self, *phases: str, timeout: float = 90, name: str | None = None) -> When:
        def reached() -> str | None:
            phase = self.env.status(name).get("phase")
            return phase if phase in phases else None

        try:
            wait_for(reached, timeout, f"phase in {phases}")
        except AssertionError as error:
            raise AssertionError(f"{error}\nstatus: {json.dumps(self.env.status(name), indent=1)[:3000]}\n"
                                 f"operator log tail:\n{self.env.operator.log()[-4000:]}") from None  # fmt: skip
        return self

    def wait_for_status(
        self, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 90
    ) -> When:
        wait_for(lambda: predicate(self.env.status()), timeout, what)
        return self

    def wait_for_step(self, step: int, timeout: float = 60) -> When:
        return self.wait_for_status(lambda s: (s.get("currentStep") or 0) >= step, f"step {step}", timeout)

    def action(self, verb: str) -> When:
        nonce = uuid.uuid4().hex[:8]
        self.env.cluster.kubectl(
            "annotate", "modelrollout", self.env.name, "-n", self.env.namespace,
            f"modelrollout.io/action={verb}:{nonce}", "--overwrite",
        )  # fmt: skip
        return self

    def patch_spec(self, patch: dict[str, Any]) -> When:
        self.env.cluster.kubectl(
            "patch", "modelrollout", self.env.name, "-n", self.env.namespace, "--type=merge",
            "-p", json.dumps({"spec": patch}),
        )  # fmt: skip
        return self

    def kill_operator(self) -> When:
        self.env.operator.kill()
        return self

    def start_operator(self) -> When:
        self.env.operator.start()
        return self

    def delete_rollout(self) -> When:
        self.env.cluster.kubectl("delete", "modelrollout", self.env.name, "-n", self.env.namespace, "--wait=true",
                                 "--timeout=60s")  # fmt: skip
        return self

    def sleep(self, seconds: float) -> When:
        time.sleep(seconds)
        return self

    def then(self) -> Then:
        return Then(self.env)


class Then:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.status = env.status() if env.name else {}

    def phase(self, expected: str) -> Then:
        assert self.status.get("phase") == expected, self.status
        return self

    def stable_version(self, expected: str) -> Then:
        assert self.status.get("stableVersion") == expected, self.status
        return self

    def candidate_weight(self, expected: int) -> Then:
        assert self.status.get("candidateWeight") == expected, self.status
        return self

    def replicas(self, expected: dict[str, int]) -> Then:
        actual = self.env.replicas()
        assert {k: actual.get(k) for k in expected} == expected, actual
        return self

    def condition(self, kind: str, status: str, reason: str | None = None) -> Then:
        found = {c["type"]: c for c in self.status.get("conditions", [])}
        assert kind in found, self.status.get("conditions")
        assert found[kind]["status"] == status, found[kind]
        if reason is not None:
            assert found[kind]["reason"] == reason, found[kind]
        return self

    def event(self, reason: str) -> Then:
        reasons = self.env.event_reasons()
        assert reason in reasons, reasons
        return self

    def lineage_outcomes(self, expected: dict[str, str]) -> Then:
        outcomes = {e["version"]: e["outcome"] for e in self.status.get("lineage", [])}
        assert {k: outcomes.get(k) for k in expected} == expected, self.status.get("lineage")
        return self

    def that(self, check: Callable[[dict[str, Any]], Any], what: str) -> Then:
        assert check(self.status), f"{what}: {json.dumps(self.status)[:2000]}"
        return self
