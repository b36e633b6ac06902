"""The static source (the test seam), the no-op source, the factory, and the Prometheus source's
failure modes that need no server: every failure is a MetricSourceError, never an empty answer."""

from __future__ import annotations

import gc
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelrollout.api.v1alpha1 import PrometheusSpec
from modelrollout.metrics import (
    MetricSource,
    MetricSourceError,
    NopSource,
    PrometheusCredentials,
    PrometheusSource,
    RangeSeries,
    StaticSource,
    new_metric_source,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, tz=UTC)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_static_source_returns_the_points_inside_the_window() -> None:
    series = RangeSeries({"version": "v1"}, tuple((at(s).timestamp(), float(s)) for s in (0, 30, 60, 90)))
    source = StaticSource({"q": [series]})

    (answer,) = source.query_range("q", at(30), at(60), 30)

    assert answer.points == ((at(30).timestamp(), 30.0), (at(60).timestamp(), 60.0))
    assert source.query_range("other", at(0), at(90), 30) == []


def test_the_static_source_answers_instant_queries_with_the_latest_point() -> None:
    series = RangeSeries({"version": "v1"}, ((at(0).timestamp(), 1.0), (at(30).timestamp(), 2.0)))
    source = StaticSource({"q": [series]})

    (answer,) = source.query("q", at(45))

    assert answer.value == 2.0
    assert source.query("q", at(-1)) == []
    assert source.query("q", at(1000)) == [], "older than the lookback is gone, as in Prometheus"


def test_an_offline_or_failing_static_source_raises_instead_of_returning_no_data() -> None:
    with pytest.raises(MetricSourceError):
        StaticSource(online=False).query("q", T0)
    with pytest.raises(MetricSourceError):
        StaticSource(failing={"q"}).query_range("q", T0, T0, 30)
    assert StaticSource(failing={"q"}).query("other", T0) == []


def test_the_static_source_records_every_query() -> None:
    source = StaticSource()
    source.query("a", T0)
    source.query_range("b", T0, at(60), 30)

    assert [(call.promql, call.step) for call in source.calls] == [("a", None), ("b", 30)]


def test_without_prometheus_the_factory_gives_the_no_op_source() -> None:
    source = new_metric_source(None)

    assert isinstance(source, NopSource)
    assert source.is_online()
    assert source.query("anything", T0) == []


def test_the_no_op_source_matches_nothing_and_refuses_a_bad_step() -> None:
    source = NopSource()

    assert isinstance(source, MetricSource)
    assert source.query_range("anything", T0, at(60), 30) == []
    with pytest.raises(MetricSourceError, match="invalid step"):
        source.query_range("anything", T0, at(60), 0)


def test_the_factory_builds_a_prometheus_source_from_the_spec() -> None:
    spec = PrometheusSpec(address="http://prometheus.monitoring:9090/", timeout="3s")

    source = new_metric_source(spec)

    assert isinstance(source, PrometheusSource)
    assert isinstance(source, MetricSource)
    assert (source.address, source.timeout) == ("http://prometheus.monitoring:9090", 3.0)
    override = new_metric_source(spec, address="http://elsewhere:9090")
    assert isinstance(override, PrometheusSource) and override.address == "http://elsewhere:9090"


def test_an_unreachable_prometheus_is_an_error_and_not_online() -> None:
    source = PrometheusSource(f"http://127.0.0.1:{closed_port()}", timeout=2, retries=0)
    assert source.tls_verify is True

    with pytest.raises(MetricSourceError, match="unreachable"):
        source.query("up", T0)
    with pytest.raises(MetricSourceError, match="unreachable"):
        source.query_range("up", T0, at(60), 30)
    assert not source.is_online()


def test_credentials_never_show_in_their_repr() -> None:
    credentials = PrometheusCredentials(bearer_token="s3cret", username="u", password="p4ss", ca_bundle="PEM")

    assert "s3cret" not in repr(credentials) and "p4ss" not in repr(credentials)


def test_a_ca_bundle_is_written_for_requests_and_removed_with_the_source() -> None:
    source = PrometheusSource(
        "https://prometheus:9090", credentials=PrometheusCredentials(ca_bundle="PEM TEXT")
    )
    assert isinstance(source.tls_verify, str)
    path = Path(source.tls_verify)

    assert path.read_text() == "PEM TEXT"
    del source
    gc.collect()
    assert not path.exists()
