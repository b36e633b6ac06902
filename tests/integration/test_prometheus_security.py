"""TLS, basic auth, credentials from Secrets and timeouts, against a real Prometheus that demands
them (its own `--web.config.file`) and a real apiserver holding the Secrets."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from modelrollout.api.v1alpha1 import ModelRolloutSpec
from modelrollout.controller.analysis_batcher import AnalysisBatcher
from modelrollout.evaluation import EvaluationResult, request_for_step
from modelrollout.k8s import kubeconfig_client
from modelrollout.metrics import MetricSourceError, PrometheusCredentials, PrometheusPolicy, PrometheusSource
from modelrollout_dev import LocalCluster, PrometheusServer

pytestmark = pytest.mark.prometheus

USER, PASSWORD = "ops", "s3cret-pa55"


@pytest.fixture(scope="module")
def secured() -> Iterator[PrometheusServer]:
    """One Prometheus serving HTTPS only, to requests with the right basic-auth password."""
    with PrometheusServer(tls=True, basic_auth=(USER, PASSWORD)) as server:
        yield server


def now() -> datetime:
    return datetime.now(UTC)


def test_https_with_the_servers_ca_and_the_password_answers(secured: PrometheusServer) -> None:
    source = PrometheusSource(
        secured.url,
        credentials=PrometheusCredentials(username=USER, password=PASSWORD, ca_bundle=secured.ca_pem),
    )

    assert secured.url.startswith("https://")
    assert [series.value for series in source.query("vector(1)", now())] == [1.0]


def test_without_the_ca_the_certificate_is_refused_with_a_clear_cause(secured: PrometheusServer) -> None:
    source = PrometheusSource(
        secured.url, credentials=PrometheusCredentials(username=USER, password=PASSWORD)
    )

    with pytest.raises(MetricSourceError, match=r"failed the TLS handshake \(name the CA .* caSecret"):
        source.query("vector(1)", now())
    assert not source.is_online()


def test_https_to_a_plain_http_server_is_a_handshake_error_without_ca_advice(
    prometheus_factory: object,
) -> None:
    plain = prometheus_factory.backfilled("# EOF\n")  # type: ignore[attr-defined]
    source = PrometheusSource(plain.url.replace("http://", "https://"))

    with pytest.raises(MetricSourceError, match="failed the TLS handshake: ") as raised:
        source.query("vector(1)", now())
    assert "caSecret" not in str(raised.value)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_insecure_skip_verify_connects_without_the_ca(secured: PrometheusServer) -> None:
    source = PrometheusSource(
        secured.url,
        credentials=PrometheusCredentials(username=USER, password=PASSWORD),
        insecure_skip_verify=True,
    )

    assert source.is_online()


@pytest.mark.parametrize("password", ["wrong", None])
def test_a_wrong_or_missing_password_is_an_error_never_empty_data(
    secured: PrometheusServer, password: str | None
) -> None:
    credentials = PrometheusCredentials(
        username=USER if password else None, password=password, ca_bundle=secured.ca_pem
    )
    source = PrometheusSource(secured.url, credentials=credentials)

    with pytest.raises(MetricSourceError, match="401"):
        source.query("vector(1)", now())


def test_a_server_that_never_answers_times_out_with_the_configured_timeout() -> None:
    """A real listening socket that accepts and stays silent: the client's timeout must end it."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        source = PrometheusSource(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5, retries=0)
        with pytest.raises(MetricSourceError, match=r"did not answer within 0\.5s"):
            source.query("vector(1)", now())
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def rollout_spec(prometheus: dict[str, object]) -> ModelRolloutSpec:
    return ModelRolloutSpec.model_validate(
        {
            "model": "fraud",
            "service": "fraud",
            "stable": {"version": "v1"},
            "candidate": {"version": "v2"},
            "strategy": {"canary": {"steps": [{"setWeight": 50}, {"analysis": {}}]}},
            "analysis": {
                "interval": "30s",
                "prometheus": {"address": "", **prometheus},
                "metrics": [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005}],
            },
        }
    )


def evaluate(
    cluster: LocalCluster, namespace: str, spec: ModelRolloutSpec, policy: PrometheusPolicy | None = None
) -> EvaluationResult:
    request = request_for_step(
        spec, namespace=namespace, name="fraud", started_at=now() - timedelta(minutes=2), at=now(), step=1
    )
    batcher = AnalysisBatcher(
        client=kubeconfig_client(str(cluster.kubeconfig)), policy=policy or PrometheusPolicy()
    )
    return asyncio.run(batcher.evaluate(request))


def create_secret(cluster: LocalCluster, namespace: str, name: str, *sources: str, **data: str) -> None:
    """A Secret labelled for Prometheus (the operator uses no other) from literals or `sources`."""
    literals = [f"--from-literal={key}={value}" for key, value in data.items()]
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *sources, *literals)
    cluster.kubectl("label", "secret", name, "-n", namespace, "modelrollout.io/prometheus-credentials=true")


@pytest.mark.cluster
def test_the_operator_reads_prometheus_auth_and_ca_from_secrets(
    cluster: LocalCluster, namespace: str, secured: PrometheusServer
) -> None:
    # given the password and the CA in Secrets of the rollout's namespace
    create_secret(cluster, namespace, "prom-auth", user=USER, password=PASSWORD)
    ca_file = secured.data_dir / "tls" / "ca.crt"
    create_secret(cluster, namespace, "prom-ca", f"--from-file=ca.crt={ca_file}")
    spec = rollout_spec(
        {
            "address": secured.url,
            "auth": {
                "username": {"name": "prom-auth", "key": "user"},
                "password": {"name": "prom-auth", "key": "password"},
            },
            "caSecret": {"name": "prom-ca", "key": "ca.crt"},
        }
    )

    # when the operator evaluates an interval
    result = evaluate(cluster, namespace, spec)

    # then the queries ran (no traffic yet: no data, which is not a query failure)
    assert not result.source_failed, result.judgement.explanation
    assert result.verdict == "Inconclusive"


@pytest.mark.cluster
def test_a_secret_that_cannot_be_read_is_inconclusive_and_named(
    cluster: LocalCluster, namespace: str, secured: PrometheusServer
) -> None:
    # given a spec naming a key the Secret does not have
    create_secret(cluster, namespace, "prom-auth", user=USER)
    spec = rollout_spec(
        {
            "address": secured.url,
            "auth": {
                "username": {"name": "prom-auth", "key": "user"},
                "password": {"name": "prom-auth", "key": "password"},
            },
        }
    )

    # when the operator evaluates an interval
    result = evaluate(cluster, namespace, spec)

    # then nothing is sent without credentials: the interval is Inconclusive and says why
    assert result.source_failed
    assert result.verdict == "Inconclusive"
    assert f"Secret {namespace}/prom-auth" in result.metrics[0].explanation
    assert "'password'" in result.metrics[0].explanation


BASIC_AUTH = {
    "username": {"name": "prom-auth", "key": "user"},
    "password": {"name": "prom-auth", "key": "password"},
}


@pytest.mark.cluster
def test_an_unlabelled_secret_is_never_sent_even_to_the_right_server(
    cluster: LocalCluster, namespace: str, secured: PrometheusServer
) -> None:
    # given the right password and CA, in Secrets nobody labelled for Prometheus
    literals = [f"--from-literal=user={USER}", f"--from-literal=password={PASSWORD}"]
    cluster.kubectl("create", "secret", "generic", "prom-auth", "-n", namespace, *literals)
    create_secret(cluster, namespace, "prom-ca", f"--from-file=ca.crt={secured.data_dir / 'tls' / 'ca.crt'}")
    spec = rollout_spec(
        {"address": secured.url, "auth": BASIC_AUTH, "caSecret": {"name": "prom-ca", "key": "ca.crt"}}
    )

    # when the operator evaluates an interval
    result = evaluate(cluster, namespace, spec)

    # then it refuses: a configuration error naming the Secret and the label, no query failure
    (metric,) = result.metrics
    assert metric.configuration_error == "PrometheusRefused" and not result.source_failed
    assert f"Secret {namespace}/prom-auth" in metric.explanation
    assert "modelrollout.io/prometheus-credentials" in metric.explanation


@pytest.mark.cluster
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("allowed", [False, True], ids=["without-flag", "with-allow-insecure-prometheus"])
def test_insecure_skip_verify_reaches_the_server_only_with_the_operators_flag(
    cluster: LocalCluster, namespace: str, secured: PrometheusServer, allowed: bool
) -> None:
    create_secret(cluster, namespace, "prom-auth", user=USER, password=PASSWORD)
    spec = rollout_spec({"address": secured.url, "auth": BASIC_AUTH, "insecureSkipVerify": True})

    result = evaluate(cluster, namespace, spec, PrometheusPolicy(allow_insecure=allowed))

    (metric,) = result.metrics
    if allowed:  # the queries ran (and found no series: this Prometheus holds no data)
        assert not result.source_failed and metric.configuration_error == "MetricNotFound", metric.explanation
    else:
        assert metric.configuration_error == "PrometheusRefused"
        assert "--allow-insecure-prometheus" in metric.explanation
