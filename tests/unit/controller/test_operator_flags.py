"""The operator's trust flags reach the analysis' Prometheus policy; without them it allows least."""

from __future__ import annotations

from modelrollout.controller.main import parse_settings


def test_by_default_nothing_insecure_is_allowed_and_every_address_may_be_named() -> None:
    policy = parse_settings(["--namespace", "team-a"]).analysis.prometheus

    assert (policy.allow_insecure, policy.allowed_url_prefixes) == (False, ())


def test_the_flags_allow_insecure_tls_and_list_the_allowed_addresses() -> None:
    settings = parse_settings(
        [
            "-A",
            "--allow-insecure-prometheus",
            "--prometheus-allowed-url",
            "https://prometheus.monitoring:9090",
            "--prometheus-allowed-url",
            "https://thanos.monitoring/api",
        ]
    )

    policy = settings.analysis.prometheus
    assert policy.allow_insecure
    assert policy.allowed_url_prefixes == (
        "https://prometheus.monitoring:9090",
        "https://thanos.monitoring/api",
    )
    assert policy.allows("https://thanos.monitoring/api/v1") and not policy.allows(
        "https://thanos.monitoring"
    )
