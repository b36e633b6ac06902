"""Default queries of the built-in metric types, over conventional metric names.

Every model server (our router included) is expected to label its series with `namespace`,
`model` and `version` (the ModelRollout's namespace, `spec.model` and the version string).
`metricName` in a metric spec replaces the default name; `query` replaces the query (see
`templates`).

| type          | default series                                   | what is tested                     |
|---------------|--------------------------------------------------|------------------------------------|
| latency       | `model_request_duration_seconds_bucket` / `_sum` | histogram of request latency       |
| errorRate     | `model_requests_total`, errors `{outcome="error"}`| errors per request                |
| drift         | `model_prediction_bucket`                        | histogram of predictions           |
| errorPattern  | `model_log_pattern_total` (label `pattern`)       | log-pattern hits per request       |
| resource      | `container_cpu_usage_seconds_total` (cAdvisor)   | CPU cores (or bytes) per pod       |
| custom        | the user's `query`                               | the candidate's value vs threshold |

* Requests are one counter, `model_requests_total`, with an `outcome` label (`success` or
  `error`): the error rate is `{outcome="error"}` over all requests. `errors` in the spec names
  other errors: matchers on the request counter (`{code=~"5.."}`) or a counter of their own.
* Absent series are not zeros. A version whose requests are present but whose error series is
  absent has had zero errors only when the model has that error series at all (for either
  version in the window, or any version within `PRESENCE_LOOKBACK`): counters appear at their
  first increment. Without it the series is misnamed or its labels differ, a configuration
  error (`series_presence` asks, one instant query per series text for the whole fleet). The
  same holds for the request counter when neither version has requests. A version without
  requests has no data.
* `metricName` is the histogram's base name for latency and drift (`<base>_bucket`, `<base>_sum`),
  the requests counter for errorRate, the pattern counter for errorPattern (whose request
  counter is `requestMetricName`) and the container
  series for resource (a name ending in `_total` is a CPU-seconds counter and taken as a rate; any
  other name is a gauge such as `container_memory_working_set_bytes`, taken at its maximum).
* With `spec.strategy.traffic.provider: router` the latency, errorRate and drift defaults (and
  the request counter that gates `minSamples`) are the router's series instead
  (`modelrollout_router_request_duration_seconds`, `modelrollout_router_requests_total`,
  `modelrollout_router_prediction`, same labels and shapes; `api/router_config.py`): the router
  counts what users were served, per version that answered, and keeps shadow copies in series of
  their own. The model servers' `model_*` series still exist but are never added to them, which
  would count every request twice. errorPattern keeps the model servers' counters (log lines come
  from the pods). `metricName` still overrides.
* Drift of one feature instead of the predictions: point `metricName` at that feature's histogram.
* errorPattern counts every `pattern` of the counter, or only those listed in `patterns` (each
  matched literally, so `CUDA error: out of memory` needs no regex escaping).

Batching: the comparison types (latency, errorRate, drift, errorPattern) have no per-rollout
label filter. Each is `sum by (namespace, model, version[, le]) (increase(<series>[<interval>]))`,
one query for every rollout that shares the interval, evaluated as a range query with
step = interval; the caller fans the result out by (namespace, model, version). `increase`
absorbs counter resets (a restarted pod). The window equals the step, so each evaluation sees the
samples of one interval: scrape at least twice per analysis interval (four times is better),
otherwise a window may hold a single sample and yield no increase.

Resource guardrails select the candidate's pods by name, `<name>-<version>-.*` (the Deployment
`<name>-<version>` the operator creates), and are queried per rollout: cAdvisor series carry
`namespace` and `pod`, not our model labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..api.router_config import ROUTER_LATENCY, ROUTER_PREDICTION, ROUTER_REQUESTS
from ..api.v1alpha1 import TrafficProvider, format_duration
from .templates import escape_label_value, escape_regex_literal

GROUP_LABELS = ("namespace", "model", "version")
"""Every batched comparison query groups by these; fan-out matches on them."""
BUCKET_LABEL = "le"

LATENCY_METRIC = "model_request_duration_seconds"
REQUESTS_METRIC = "model_requests_total"
OUTCOME_LABEL = "outcome"
ERROR_OUTCOME = "error"
PREDICTION_METRIC = "model_prediction"
LOG_PATTERN_METRIC = "model_log_pattern_total"
PATTERN_LABEL = "pattern"
CPU_METRIC = "container_cpu_usage_seconds_total"


@dataclass(frozen=True)
class DefaultSeries:
    """The series the comparison types read when the metric names none."""

    latency: str = LATENCY_METRIC
    """Histogram base name of latency."""
    requests: str = REQUESTS_METRIC
    """Request counter (with `outcome`) of errorRate, and the exposure that gates `minSamples`."""
    prediction: str = PREDICTION_METRIC
    """Histogram base name of drift."""


MODEL_SERVER_SERIES = DefaultSeries()
ROUTER_SERIES = DefaultSeries(latency=ROUTER_LATENCY, requests=ROUTER_REQUESTS, prediction=ROUTER_PREDICTION)


def default_series(provider: TrafficProvider | None) -> DefaultSeries:
    """The router's own series for `provider: router`, the model servers' otherwise."""
    return ROUTER_SERIES if provider == TrafficProvider.ROUTER else MODEL_SERVER_SERIES


PRESENCE_LOOKBACK = 86_400.0
"""How far back a series counts as existing for a model (a day): an error counter that exists
for the stable, or for any version in the last day, makes a version without it a version with
zero errors; one that never existed is misnamed."""
PRESENCE_LABELS = ("namespace", "model")


def grouped_increase(series: str, interval: float, *, by_bucket: bool = False) -> str:
    """Increase of `series` (a name, optionally with matchers) per interval, grouped for fan-out."""
    labels = ", ".join((*GROUP_LABELS, BUCKET_LABEL) if by_bucket else GROUP_LABELS)
    return f"sum by ({labels}) (increase({series}[{format_duration(interval)}]))"


def histogram_buckets(base: str, interval: float) -> str:
    return grouped_increase(f"{base}_bucket", interval, by_bucket=True)


def histogram_sum(base: str, interval: float) -> str:
    return grouped_increase(f"{base}_sum", interval)


def requests(metric: str, interval: float) -> str:
    return grouped_increase(metric, interval)


def error_series(requests_metric: str, selector: str | None = None, metric_name: str | None = None) -> str:
    """The errors of errorRate: a counter of their own, matchers on the request counter, or by
    default `{outcome="error"}` on the request counter."""
    if metric_name:
        return metric_name
    if selector:
        return f"{requests_metric}{selector}"
    return f'{requests_metric}{{{OUTCOME_LABEL}="{escape_label_value(ERROR_OUTCOME)}"}}'


def request_errors(metric: str, interval: float) -> str:
    """The default errors (`{outcome="error"}` on the request counter) per interval."""
    return grouped_increase(error_series(metric), interval)


def log_pattern_series(metric: str, patterns: Sequence[str] | None) -> str:
    """The chosen log patterns' counter series (all when None), each pattern matched literally."""
    if not patterns:
        return metric
    alternatives = "|".join(escape_regex_literal(pattern) for pattern in patterns)
    return f'{metric}{{{PATTERN_LABEL}=~"{alternatives}"}}'


def log_pattern_hits(metric: str, patterns: Sequence[str] | None, interval: float) -> str:
    """Hits of the chosen log patterns (all when None), each pattern matched literally."""
    return grouped_increase(log_pattern_series(metric, patterns), interval)


def series_presence(series: str, lookback: float = PRESENCE_LOOKBACK) -> str:
    """Which models have `series` at all over `lookback`: one instant query per series text for
    the whole fleet, fanned out by (namespace, model) like the increases (`presence` asks it
    over the last intervals first, and over the whole lookback only for the models not found)."""
    labels = ", ".join(PRESENCE_LABELS)
    return f"group by ({labels}) (last_over_time({series}[{format_duration(lookback)}]))"


def pod_resource(metric: str, namespace: str, name: str, version: str, interval: float) -> str:
    """The busiest pod of one version: CPU cores for a `_total` counter, else the gauge's maximum."""
    pods = escape_regex_literal(f"{name}-{version}-") + ".*"
    selector = (
        f'{metric}{{namespace="{escape_label_value(namespace)}", pod=~"{pods}", '
        f'container!="", container!="POD"}}'
    )
    window = format_duration(interval)
    per_pod = (
        f"sum by (pod) (rate({selector}[{window}]))"
        if metric.endswith("_total")
        else f"sum by (pod) (max_over_time({selector}[{window}]))"
    )
    return f"max({per_pod})"
