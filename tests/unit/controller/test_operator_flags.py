"""The operator's flags reach what they set: the analysis' Prometheus policy (without the trust
flags it allows least), and kopf's own request timeouts."""

from __future__ import annotations

import kopf
import pytest

from modelrollout.controller.handlers import configure
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


def test_kopfs_own_api_calls_are_bounded_by_the_request_timeout_flag() -> None:
    """kopf patches finalizers and its annotations itself: those calls wait no longer than ours
    (aiohttp's default would be five minutes)."""
    operator = parse_settings(["-n", "team-a", "--kube-request-timeout", "7"])
    settings = kopf.OperatorSettings()
    configure(settings=settings, memo=kopf.Memo(runtime=_Runtime(operator)))

    assert settings.networking.request_timeout == 7
    assert settings.networking.connect_timeout == 7


class _Runtime:
    def __init__(self, settings: object) -> None:
        self.settings = settings


def test_default_notification_receivers_name_a_format_and_a_secret_key() -> None:
    from modelrollout.api.v1alpha1 import NotificationFormat

    settings = parse_settings(
        [
            "-n",
            "a",
            "--default-notification",
            "slack:ops/hooks/url",
            "--notification-allowed-url",
            "https://h",
        ]
    ).notifications
    (receiver,) = settings.defaults
    assert (receiver.format, receiver.namespace, receiver.secret, receiver.key) == (
        NotificationFormat.SLACK, "ops", "hooks", "url",
    )  # fmt: skip
    assert settings.allowed_url_prefixes == ("https://h",)


def test_a_default_notification_without_its_secret_key_is_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse_settings(["-n", "a", "--default-notification", "email:ops/hooks"])
    assert "FORMAT:NAMESPACE/SECRET/KEY" in capsys.readouterr().err
