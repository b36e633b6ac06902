"""Creating a ModelRollout must not make the operator leak a Secret or call any address it names.

The analysis batcher is where a spec's Prometheus address meets the Secrets it names: these tests
run it against an in-memory apiserver (`FakeKubeClient`) and a loopback HTTP server that records
what it was sent, and check what is refused, with which configuration error, before anything
leaves the operator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import (
    AnalysisSpec,
    MetricSpec,
    MetricType,
    PrometheusSpec,
)
from modelrollout.controller.analysis_batcher import AnalysisBatcher
from modelrollout.evaluation import EvaluationRequest, EvaluationResult
from modelrollout.k8s import FakeKubeClient
from modelrollout.metrics import PrometheusPolicy

from ...fixtures.loopback import Answering, serving

NS = "team-a"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CREDENTIALS_LABEL = {"modelrollout.io/prometheus-credentials": "true"}
REFUSED = "PrometheusRefused"


class _Recorder(Answering):
    """Records every request's Authorization header; answers with `reply` (status, body)."""

    seen: list[str | None] = []


def _empty(kind: str = "vector") -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode()


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen, _Recorder.reply = [], (200, _empty())
    with serving(_Recorder) as url:
        yield url


def _evaluate(
    prometheus: dict[str, Any] | PrometheusSpec, client: FakeKubeClient | None = None, **policy: Any
) -> EvaluationResult:
    if isinstance(prometheus, dict):
        prometheus = PrometheusSpec.model_validate({"timeout": "1s", **prometheus})
    analysis = AnalysisSpec(
        prometheus=PrometheusSpec(address="https://placeholder"),
        metrics=[MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.01)],
    )
    analysis.prometheus = prometheus  # unvalidated: as a spec stored before a rule existed
    request = EvaluationRequest(
        NS, "r", "m", "v1", "v2", analysis, started_at=T0, at=T0 + timedelta(minutes=2)
    )
    batcher = AnalysisBatcher(client or FakeKubeClient(), policy=PrometheusPolicy(**policy))
    return asyncio.run(batcher.evaluate(request))


def _token_client(labels: dict[str, str] | None = CREDENTIALS_LABEL) -> FakeKubeClient:
    client = FakeKubeClient()
    client.add_secret(NS, "prom", {"token": "t0ken"}, labels=labels)
    return client


def _secret_reads(client: FakeKubeClient) -> list[Any]:
    return client.calls_to("read_secret")


def _refusal(result: EvaluationResult) -> str:
    (metric,) = result.metrics
    assert metric.configuration_error == REFUSED, metric.explanation
    assert result.configuration_error is not None
    return metric.explanation


BEARER = {"auth": {"bearerToken": {"name": "prom", "key": "token"}}}


def test_a_token_is_never_sent_over_plain_http(recorder: str) -> None:
    # given a spec sending a labelled token to a plain-http address (stored before the CEL rule
    # refused it), and an operator that even allows insecure Prometheus
    prometheus = PrometheusSpec.model_validate({"address": "https://x", "timeout": "1s", **BEARER})
    prometheus.address = recorder
    client = _token_client()

    # when its interval is evaluated
    result = _evaluate(prometheus, client, allow_insecure=True)

    # then nothing is sent, the Secret is not even read, and the metric says why
    assert _Recorder.seen == []
    assert _secret_reads(client) == []
    assert "https" in _refusal(result)


@pytest.mark.parametrize("allowed", [False, True])
def test_insecure_skip_verify_needs_the_operators_flag(allowed: bool) -> None:
    client = _token_client()
    prometheus = {"address": "https://127.0.0.1:9", "insecureSkipVerify": True, **BEARER}

    result = _evaluate(prometheus, client, allow_insecure=allowed)

    if allowed:  # the query is tried (nothing listens: an outage, no configuration error)
        assert result.metrics[0].configuration_error is None and result.source_failed
    else:
        assert "--allow-insecure-prometheus" in _refusal(result)
        assert _secret_reads(client) == []


def test_an_unlabelled_secret_is_refused_and_never_used() -> None:
    client = _token_client(labels=None)

    result = _evaluate({"address": "https://127.0.0.1:9", **BEARER}, client)

    explanation = _refusal(result)
    assert "modelrollout.io/prometheus-credentials" in explanation and f"{NS}/prom" in explanation
    assert "t0ken" not in explanation


def test_a_labelled_secret_is_used() -> None:
    client = _token_client()

    result = _evaluate({"address": "https://127.0.0.1:9", **BEARER}, client)

    assert result.metrics[0].configuration_error is None and result.source_failed
    assert [call.args["name"] for call in _secret_reads(client)] == ["prom"]


def test_with_an_allow_list_an_unlabelled_secret_may_go_to_an_allowed_address() -> None:
    client = _token_client(labels=None)

    result = _evaluate(
        {"address": "https://127.0.0.1:9/prom", **BEARER},
        client,
        allowed_url_prefixes=("https://127.0.0.1:9",),
    )

    assert result.metrics[0].configuration_error is None and result.source_failed


@pytest.mark.parametrize(
    "address",
    [
        "https://127.0.0.1:19/",  # another port
        "https://127.0.0.1:9.evil.example/",  # the prefix as a prefix of a host name
        "https://127.0.0.1:9@evil.example/",  # the prefix as user info
        "http://127.0.0.1:9/",  # another scheme
    ],
)
def test_with_an_allow_list_no_other_address_is_queried(recorder: str, address: str) -> None:
    result = _evaluate({"address": address}, allowed_url_prefixes=("https://127.0.0.1:9",))

    assert "--prometheus-allowed-url" in _refusal(result)


def test_with_an_allow_list_an_allowed_address_is_queried(recorder: str) -> None:
    result = _evaluate({"address": recorder}, allowed_url_prefixes=(recorder + "/",))

    assert result.metrics[0].configuration_error != REFUSED  # the empty answers: MetricNotFound
    assert _Recorder.seen, "the allowed address was queried"


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.0.1:9090",
        "http://[fe80::1]:9090",
        "http://[::ffff:169.254.0.1]:9090",
        "http://metadata.google.internal",
        "http://METADATA.google.internal.",
        "http://[fd00:ec2::254]",
    ],
)
def test_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    result = _evaluate({"address": address})

    assert "link-local or cloud metadata" in _refusal(result)


def test_a_name_resolving_to_a_link_local_address_is_refused() -> None:
    result = _evaluate(
        {"address": "http://prometheus.example:9090"},
        resolve=lambda host: ["10.0.0.7", "169.254.169.254"] if host == "prometheus.example" else [],
    )

    assert "prometheus.example resolves to 169.254.169.254" in _refusal(result)


def test_a_long_error_body_is_cut_before_it_reaches_status(recorder: str) -> None:
    _Recorder.reply = (400, b'{"status":"error","error":"' + b"x" * 200_000 + b'"}')

    result = _evaluate({"address": recorder})

    (metric,) = result.metrics
    assert result.source_failed and "400" in metric.explanation
    assert len(metric.explanation) < 1000, len(metric.explanation)
