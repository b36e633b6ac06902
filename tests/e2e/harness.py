"""Given/When/Then for end-to-end tests: the operator as a local process on its own least-privilege
ServiceAccount, a real cluster, a real Prometheus scraping simulated model traffic.

Read a test as: Given(objects) -> When(change, then WAIT for the state) -> Then(assert only).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
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

    def model_traffic(self, behaviours: dict[str, Behaviour], rps: float = 1000.0) -> Given:
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

    def kill_operator_when(
        self, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 60
    ) -> When:
        """SIGKILL the operator the moment a status matching `predicate` is written: a watch sees
        the write within milliseconds, usually before the operator has applied the actions that
        follow it. The status left behind (nobody writes it any more) is kept as
        `env.extra["status_at_kill"]` for Then to check that the phase really was caught."""
        with RolloutWatch(self.env.cluster, self.env.namespace, self.env.name) as watch:
            watch.wait_until(predicate, timeout, what)
            self.env.operator.kill()
        self.env.extra["status_at_kill"] = self.env.status()
        return self

    def action_on(self, name: str, verb: str) -> When:
        nonce = uuid.uuid4().hex[:8]
        self.env.cluster.kubectl(
            "annotate", "modelrollout", name, "-n", self.env.namespace,
            f"modelrollout.io/action={verb}:{nonce}", "--overwrite",
        )  # fmt: skip
        return self

    def patch_spec_of(self, name: str, patch: dict[str, Any]) -> When:
        self.env.cluster.kubectl(
            "patch", "modelrollout", name, "-n", self.env.namespace, "--type=merge",
            "-p", json.dumps({"spec": patch}),
        )  # fmt: skip
        return self

    def wait_for_status_of(
        self, name: str, predicate: Callable[[dict[str, Any]], Any], what: str, timeout: float = 90
    ) -> When:
        try:
            wait_for(lambda: predicate(self.env.status(name)), timeout, f"{name}: {what}")
        except AssertionError as error:
            raise AssertionError(f"{error}\nstatus: {json.dumps(self.env.status(name), indent=1)[:3000]}\n"
                                 f"operator log tail:\n{self.env.operator.log()[-4000:]}") from None  # fmt: skip
        return self

    def start_operator(self) -> When:
        self.env.operator.start()
        return self

    def delete_rollout(self) -> When:
        self.env.cluster.kubectl("delete", "modelrollout", self.env.name, "-n", self.env.namespace, "--wait=true",
                                 "--timeout=60s")  # fmt: skip
        return self

    def stop_prometheus(self) -> When:
        """An outage: Prometheus killed, its data kept for when it comes back on the same URL."""
        assert self.env.prometheus is not None
        self.env.prometheus.stop()
        return self

    def start_prometheus(self) -> When:
        assert self.env.prometheus is not None
        self.env.prometheus.start()
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


# -- helpers for manual actions, candidate changes, deletion and invalid references -------------
# (module functions rather than new methods, so the classes above keep their exact behaviour)


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


def create_service(env: Env, model: str) -> None:
    body = service(model, env.namespace, {"modelrollout.io/model": model})
    env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def delete_service(env: Env, model: str) -> None:
    env.cluster.kubectl("delete", "service", model, "-n", env.namespace, "--wait=true")


def scale_deployment(env: Env, name: str, replicas: int) -> None:
    """As an HPA or a person would: straight on the Deployment, behind the operator's back."""
    env.cluster.kubectl("scale", "deployment", name, "-n", env.namespace, f"--replicas={replicas}")


def annotate_action(env: Env, text: str, name: str | None = None) -> None:
    """Any text as the action annotation, valid or not."""
    env.cluster.kubectl(
        "annotate", "modelrollout", name or env.name, "-n", env.namespace,
        f"modelrollout.io/action={text}", "--overwrite",
    )  # fmt: skip


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


class Sampler:
    """Samples a reading in the background while a test acts (e.g. the stable's ready replicas
    during a candidate change), so Then can assert on every sample, not only the last state."""

    def __init__(self, read: Callable[[], Any], interval: float = 0.3) -> None:
        import threading

        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[Any] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self._read())
            except Exception as error:  # a failed read is not a sample; the test sees it
                self.errors.append(str(error))
            self._stop.wait(self._interval)


def ready_replicas(env: Env) -> dict[str, int]:
    """Ready replicas per Deployment name, as the Deployment controller reports them."""
    return {name: int(d.get("status", {}).get("readyReplicas") or 0) for name, d in env.deployments().items()}


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status.get("conditions", [])}


class RolloutWatch:
    """`kubectl get -w` on one ModelRollout, its objects parsed on a reader thread: a status is
    seen within milliseconds of being written, where polling would see it up to a poll later."""

    def __init__(self, cluster: LocalCluster, namespace: str, name: str) -> None:
        self._proc = subprocess.Popen(
            [str(cluster.tools.kubectl), "get", "modelrollout", name, "-n", namespace, "-w", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
            env=cluster.env,
        )  # fmt: skip
        self._seen: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="rollout-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        buffer: list[str] = []
        for line in self._proc.stdout:
            buffer.append(line)
            if line.rstrip("\n") == "}":  # kubectl ends each indented object with a bare brace
                self._seen.put(json.loads("".join(buffer)))
                buffer = []

    def wait_until(
        self, predicate: Callable[[dict[str, Any]], Any], timeout: float, what: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while (left := deadline - time.monotonic()) > 0:
            try:
                last = dict(self._seen.get(timeout=left).get("status") or {})
            except queue.Empty:
                break
            if predicate(last):
                return last
        raise AssertionError(
            f"timed out after {timeout:.0f}s watching for {what} (last: {json.dumps(last)[:2000]})"
        )

    def __enter__(self) -> RolloutWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


def wait_for_rollout(
    env: Env,
    predicate: Callable[[dict[str, Any]], Any],
    what: str,
    timeout: float = 60,
    name: str | None = None,
) -> None:
    """`When.wait_for_status` for any ModelRollout of the test; a timeout shows its status and the
    operator's log tail, as `wait_for_phase` does."""
    try:
        wait_for(lambda: predicate(env.status(name)), timeout, what)
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nstatus: {json.dumps(env.status(name), indent=1)[:3000]}\n"
            f"operator log tail:\n{env.operator.log()[-4000:]}"
        ) from None
