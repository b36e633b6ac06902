"""`MetricSource` over the Prometheus HTTP API, on prometheus-api-client's session (retries, auth);
the answers are parsed here and in `answers`, straight into what the analysis keeps.

Credentials arrive as plain values (`PrometheusCredentials`): reading Secrets is the controller's
job, so this module never talks to Kubernetes and a backtest can pass a token from a file.
Every failure (connection, timeout, HTTP error, a malformed answer) becomes `MetricSourceError`,
because the analysis must tell "Prometheus could not answer" from "Prometheus found no data".
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from .answers import RangeColumns, parse_instant, parse_range
from .source import MetricSourceError, Point, RangeSeries, Series, check_step

_T = TypeVar("_T")

_RETRY_STATUSES = (502, 503, 504)
"""Transient gateway answers worth one more try within the same interval."""
ERROR_TEXT_LIMIT = 300
"""Characters of a server's error text kept in a `MetricSourceError`: enough for Prometheus' own
messages, while whatever answers at the address (a proxy's HTML page, a 200 KB body) never fills
the status, the Events and the logs it is copied into."""


@dataclass(frozen=True)
class PrometheusCredentials:
    """Secrets the controller read for this Prometheus; never printed (repr hides them)."""

    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = field(default=None, repr=False)
    """PEM text of the CA certificates that sign the server's certificate."""


class PrometheusSource:
    """Queries one Prometheus server; one instance per address, reused across intervals."""

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 10.0,
        credentials: PrometheusCredentials | None = None,
        insecure_skip_verify: bool = False,
        retries: int = 1,
    ) -> None:
        credentials = credentials or PrometheusCredentials()
        self.address = address.rstrip("/")
        self.timeout = timeout
        session = requests.Session()
        self.tls_verify = self._verification(credentials, insecure_skip_verify)
        """False, True (the system's CA store) or the path of the CA bundle file."""
        session.verify = self.tls_verify
        headers = (
            {"Authorization": f"Bearer {credentials.bearer_token}"} if credentials.bearer_token else None
        )
        auth = (credentials.username or "", credentials.password or "") if credentials.username else None
        # The client's default retries three times with a one-second backoff: far too slow when a
        # whole batch of rollouts waits on an unreachable server within one interval.
        retry = Retry(total=retries, connect=retries, backoff_factor=0.1, status_forcelist=_RETRY_STATUSES)
        self._client = PrometheusConnect(
            url=self.address, headers=headers, auth=auth, session=session, timeout=timeout, retry=retry
        )
        self._session, self._headers, self._auth = session, headers, auth

    def _verification(self, credentials: PrometheusCredentials, insecure_skip_verify: bool) -> bool | str:
        """What `requests` verifies TLS with: nothing, the system store, or a CA bundle file."""
        if insecure_skip_verify:
            return False
        if not credentials.ca_bundle:
            return True
        # requests only takes a CA bundle as a path; the file lives as long as this source.
        handle, path = tempfile.mkstemp(prefix="modelrollout-ca-", suffix=".pem")
        with os.fdopen(handle, "w") as bundle:
            bundle.write(credentials.ca_bundle)
        weakref.finalize(self, _remove_quietly, path)
        return path

    def query(self, promql: str, at: datetime) -> list[Series]:
        params = {"query": promql, **self._params(time=at.timestamp())}
        return self._call(lambda: parse_instant(self._get("query", params), promql), promql)

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        params = self._range_params(promql, start, end, step)
        result = self._call(lambda: json.loads(self._get("query_range", params))["data"]["result"], promql)
        return _range_series(result, promql)

    def query_range_columns(self, promql: str, start: datetime, end: datetime, step: float) -> RangeColumns:
        """`query_range`'s answer parsed straight into columns (`answers` says why)."""
        params = self._range_params(promql, start, end, step)
        return self._call(lambda: parse_range(self._get("query_range", params), promql), promql)

    def is_online(self) -> bool:
        try:
            series = self.query("vector(1)", datetime.now(UTC))
        except MetricSourceError:
            return False
        return len(series) == 1 and series[0].value == 1.0

    def close(self) -> None:
        self._client.close()

    def _range_params(self, promql: str, start: datetime, end: datetime, step: float) -> dict[str, str]:
        check_step(step)
        # The caller's exact (aligned) times, which the fan-out relies on, never rounded.
        return {
            "query": promql,
            **self._params(start=start.timestamp(), end=end.timestamp()),
            "step": _format_step(step),
        }

    def _params(self, **values: float) -> dict[str, str]:
        # Prometheus cancels the evaluation itself at this timeout instead of working on for nobody.
        params = {key: _format_number(value) for key, value in values.items()}
        params["timeout"] = f"{_format_number(self.timeout)}s"
        return params

    def _get(self, endpoint: str, params: dict[str, str]) -> bytes:
        """The body of a successful answer of `/api/v1/<endpoint>`, as the client would ask it."""
        response = self._session.get(
            f"{self.address}/api/v1/{endpoint}",
            params=params,
            headers=self._headers,
            auth=self._auth,
            verify=self.tls_verify,  # explicit, as the client does: REQUESTS_CA_BUNDLE must not win
            timeout=self.timeout,
        )
        if response.status_code != 200:
            raise PrometheusApiClientException(
                f"HTTP Status Code {response.status_code} ({response.content!r})"
            )
        return response.content

    def _call(self, request: Callable[[], _T], promql: str) -> _T:
        try:
            return request()
        except PrometheusApiClientException as error:
            raise MetricSourceError(
                f"Prometheus at {self.address} rejected {promql!r}: {_cut(str(error))}"
            ) from error
        except requests.exceptions.SSLError as error:
            advice = (
                " (name the CA that signs its certificate in caSecret, or set insecureSkipVerify)"
                if "CERTIFICATE_VERIFY_FAILED" in str(error)
                else ""
            )
            raise MetricSourceError(
                f"Prometheus at {self.address} failed the TLS handshake{advice}: {_cut(_cause(error))}"
            ) from error
        except requests.RequestException as error:
            if _timed_out(error):
                raise MetricSourceError(
                    f"Prometheus at {self.address} did not answer within {self.timeout:g}s"
                ) from error
            raise MetricSourceError(
                f"Prometheus at {self.address} is unreachable: {_cut(_cause(error))}"
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise MetricSourceError(
                f"Prometheus at {self.address} sent a malformed answer: {_cut(str(error))}"
            ) from error


def _cut(text: str, limit: int = ERROR_TEXT_LIMIT) -> str:
    """`text` shortened to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _reason(error: requests.RequestException) -> object:
    """What urllib3 gave up on, when requests wraps its MaxRetryError (None otherwise)."""
    return getattr(error.args[0], "reason", None) if error.args else None


def _cause(error: requests.RequestException) -> str:
    """The root cause in a few words: status and events repeat it, and urllib3's full text
    (pool, URL, retries) is several lines of noise around "Connection refused"."""
    reason = _reason(error)
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return str(reason).rsplit("Failed to establish a new connection: ", 1)[-1]
    return str(reason if reason is not None else error)


def _timed_out(error: requests.RequestException) -> bool:
    """Whether the request ran out of time. With retries configured, urllib3 wraps a read
    timeout in MaxRetryError and requests raises ConnectionError, not Timeout. A refused
    connection is no timeout, though urllib3 makes NewConnectionError a ConnectTimeoutError."""
    if isinstance(error, requests.Timeout):
        return True
    reason = _reason(error)
    return isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _format_number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _format_step(step: float) -> str:
    return _format_number(step)


def _range_series(result: Any, promql: str) -> list[RangeSeries]:
    try:
        return [
            RangeSeries(labels=dict(item.get("metric", {})), points=_points(item["values"]))
            for item in result
        ]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise MetricSourceError(f"unexpected answer to {promql!r}: {error}") from error


def _points(values: Any) -> tuple[Point, ...]:
    return tuple((float(timestamp), float(value)) for timestamp, value in values)
