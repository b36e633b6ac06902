"""Per metric type: which queries to send and how their answers become one `MetricTest`.

Planning and measuring are split so that the queries of a whole fleet of rollouts can be batched
(sent once) between the two. A probe names each piece of data it needs as a `Slice`: a query and
the labels that pick one version's series out of its answer (batched queries), or None when the
whole answer is that version's (queries rendered per version from the user's template).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial

from ..analysis import (
    AssessConfig,
    HistogramSample,
    Margin,
    MetricTest,
    RateSample,
    assess_drift,
    assess_latency,
    assess_rate,
)
from ..api.v1alpha1 import AnalysisMethod, DriftStatistic, MetricSpec, MetricType, Verdict
from ..metrics import (
    InstantQuery,
    Presence,
    RangeQuery,
    TemplateContext,
    TemplateError,
    render,
)
from ..metrics import queries as defaults
from . import checks, samples
from .goal_probe import goal_probe
from .interleaving_probe import interleaving_probe, waiting_interleaving
from .request import EvaluationRequest
from .shadow_probe import shadow_probes
from .slices import (
    CANDIDATE,
    STABLE,
    Answers,
    Probe,
    Slice,
    candidate_query,
    histogram_path,
    inconclusive,
    ranges,
    rate_path,
    settled,
    user_query,
)
from .value_probes import custom_probe, resource_probe


class Planner:
    """Builds the probes of one request; holds what every metric type shares. Its public methods
    (`range_query`, `labels`, `batched`, `present`, `config`, `missing`, `rate_probe`, ...) are
    what the probe modules of other metric kinds and strategies (`goal_probe`, `value_probes`,
    `shadow_probe`, `interleaving_probe`) build on; the underscored ones are this module's."""

    def __init__(
        self,
        request: EvaluationRequest,
        first_end: RangeQuery,
        step_start: datetime,
        segments: tuple[float, ...],
    ) -> None:
        self.request = request
        self.interval = request.interval
        self.range_template = first_end
        """A RangeQuery carrying the window; each query reuses its start, end and step."""
        self.step_start = step_start  # the step's first look; the window may start before it
        self.carries = request.analysis.method == AnalysisMethod.SEQUENTIAL  # see `carry`
        self.segments = segments
        """The looks (times) where a new split starts within the window (`evaluate._segments`)."""
        self.versions = {STABLE: request.stable_version, CANDIDATE: request.candidate_version}

    def probe(self, metric: MetricSpec) -> Probe:
        builders: dict[MetricType, Callable[[MetricSpec], Probe]] = {
            MetricType.LATENCY: self._latency,
            MetricType.ERROR_RATE: self._error_rate,
            MetricType.ERROR_PATTERN: self._error_pattern,
            MetricType.DRIFT: self._drift,
            MetricType.CUSTOM: partial(custom_probe, self),
            MetricType.RESOURCE: partial(resource_probe, self),
            MetricType.GOAL: partial(goal_probe, self),
        }
        try:
            return builders[metric.type](metric)
        except TemplateError as error:
            return settled(metric, inconclusive("query template", str(error)))

    # -- helpers -----------------------------------------------------------------------------

    def range_query(self, promql: str) -> RangeQuery:
        return replace(self.range_template, promql=promql)

    def context(self, version: str) -> TemplateContext:
        request = self.request
        return TemplateContext(
            namespace=request.namespace,
            model=request.model,
            name=request.name,
            version=version,
            stable_version=request.stable_version,
            candidate_version=request.candidate_version,
            interval=self.interval,
        )

    def labels(self, role: str) -> dict[str, str]:
        return {
            "namespace": self.request.namespace,
            "model": self.request.model,
            "version": self.versions[role],
        }

    def batched(self, name: str, promql: str) -> dict[str, Slice]:
        query = self.range_query(promql)
        return {f"{name}/{role}": Slice(query, self.labels(role)) for role in self.versions}

    def _per_version_range(self, name: str, template: str) -> dict[str, Slice]:
        return {
            f"{name}/{role}": Slice(self.range_query(render(template, self.context(version))))
            for role, version in self.versions.items()
        }

    def config(self, metric: MetricSpec, fail_only: bool = False) -> AssessConfig:
        analysis = self.request.analysis
        return AssessConfig(
            method=analysis.method,
            alpha=analysis.alpha,
            min_samples=analysis.min_samples,
            final=self.request.final,
            fixed_test=metric.fixed_test,
            fail_only=fail_only,
        )

    def missing(self, present: Mapping[str, object | None]) -> MetricTest | None:
        """Inconclusive naming the versions without data, or None when all have some."""
        absent = [f"{role} ({self.versions[role]})" for role, value in present.items() if value is None]
        if not absent:
            return None
        return inconclusive("no data", f"no data for {' and '.join(absent)}: no data is not zero")

    def _histograms(
        self,
        answers: Answers,
        sums: Mapping[str, float | None],
        user_query: str | None = None,
        *,
        default_series: tuple[str, str] | None = None,
    ) -> HistogramSample | MetricTest:
        """Both versions' buckets as one sample, or the Inconclusive result saying what is missing.
        A user's query (`user_query`, as rendered) must return `le`-labelled bucket counts; the
        default query's bucket series (`default_series`: the series and the query as sent) must
        exist for the model (`present/buckets`), or the histogram is misnamed rather than quiet."""
        if user_query is not None:
            answered = [series for role in self.versions for series in ranges(answers, f"buckets/{role}")]
            if (problem := checks.bucket_shape_problem(answered)) is not None:
                return checks.shape_invalid(problem, user_query)
        buckets = {role: samples.bucket_totals(ranges(answers, f"buckets/{role}")) for role in self.versions}
        absent = all(value is None for value in buckets.values()) and not answers.get("present/buckets")
        if default_series is not None and absent:
            return checks.not_found(default_series[0], self.lookback(), default_series[1])
        if (missing := self.missing(buckets)) is not None:
            return missing
        stable, candidate = buckets[STABLE] or {}, buckets[CANDIDATE] or {}
        sample = samples.histogram(stable, candidate, sums.get(STABLE), sums.get(CANDIDATE))
        if sample is None:
            return inconclusive("no data", "the versions share no +Inf bucket: no total count")
        return histogram_path(sample, answers, self.segments)

    def _held_if_silent(self, answers: Answers, result: MetricTest) -> MetricTest:
        """`result`, held at Inconclusive when a version stopped reporting (`checks`). A version's
        requests are its `requests` answer, or for histograms the `+Inf` bucket's."""
        keys = {
            role: f"requests/{role}" if f"requests/{role}" in answers else f"buckets/{role}"
            for role in self.versions
        }
        counts = {
            role: [s for s in ranges(answers, key) if s.labels.get("le", "+Inf") == "+Inf"]
            for role, key in keys.items()
        }
        times = samples.look_times(*counts.values())
        stable, candidate = (samples.running_totals(counts[role], times) for role in (STABLE, CANDIDATE))
        return checks.hold_if_silent(
            result,
            (f"{STABLE} ({self.versions[STABLE]})", stable),
            (f"{CANDIDATE} ({self.versions[CANDIDATE]})", candidate),
        )

    def _histogram_slices(
        self, metric: MetricSpec, base: str
    ) -> tuple[dict[str, Slice], tuple[str, str] | None]:
        """The bucket slices of a histogram metric: the user's query per version, or the default
        query batched with the check that its series exists (returned as series and query)."""
        if metric.query:
            return self._per_version_range("buckets", metric.query), None
        slices = {
            **self.batched("buckets", defaults.histogram_buckets(base, self.interval)),
            **self.present("buckets", f"{base}_bucket"),
        }
        return slices, (f"{base}_bucket", candidate_query(slices))

    # -- comparison types ----------------------------------------------------------------------

    def _latency(self, metric: MetricSpec) -> Probe:
        base = metric.metric_name or self.request.series.latency
        slices, default_series = self._histogram_slices(metric, base)
        if not metric.query:
            slices.update(self.batched("sum", defaults.histogram_sum(base, self.interval)))

        def measure(answers: Answers, fail_only: bool = False) -> MetricTest:
            sums = {role: samples.total(ranges(answers, f"sum/{role}")) for role in self.versions}
            sample = self._histograms(
                answers, sums, user_query(metric, slices), default_series=default_series
            )
            if isinstance(sample, MetricTest):
                return sample
            result = assess_latency(sample, _margin(metric), self.config(metric, fail_only))
            return _short_of_fail(result, fail_only) or self._held_if_silent(answers, result)

        return Probe(
            metric, measure, slices, carries=self.carries, measure_fail=partial(measure, fail_only=True)
        )

    def _error_rate(self, metric: MetricSpec) -> Probe:
        requests = metric.metric_name or self.request.series.requests
        if metric.query:
            return self.rate_probe(metric, self._per_version_range("events", metric.query), requests)
        chosen = metric.errors
        errors = defaults.error_series(
            requests, chosen.selector if chosen else None, chosen.metric_name if chosen else None
        )
        increases = self.batched("events", defaults.grouped_increase(errors, self.interval))
        return self.rate_probe(metric, increases, requests, events_series=errors)

    def _error_pattern(self, metric: MetricSpec) -> Probe:
        requests = metric.request_metric_name or defaults.REQUESTS_METRIC
        if metric.query:
            return self.rate_probe(metric, self._per_version_range("events", metric.query), requests)
        counter = metric.metric_name or defaults.LOG_PATTERN_METRIC
        hits = defaults.log_pattern_hits(counter, metric.patterns, self.interval)
        # The counter existing for the model is enough: a chosen pattern never logged is zero hits.
        return self.rate_probe(metric, self.batched("events", hits), requests, events_series=counter)

    def lookback(self) -> str:
        """Where a series was looked for before it is called absent, for messages."""
        hours = defaults.PRESENCE_LOOKBACK / 3600
        return (
            f"model {self.request.namespace}/{self.request.model} "
            f"(either version, or any version in the last {hours:g}h)"
        )

    def present(self, name: str, series: str) -> dict[str, Slice]:
        """Whether the model has `series` at all within the presence lookback, asked once for the
        fleet (the answer is grouped by namespace and model; `metrics.presence` says how)."""
        query = InstantQuery(
            defaults.series_presence(series),
            self.request.presence_checked_at,
            presence=Presence(series, recent=2 * self.interval),
        )
        labels = {"namespace": self.request.namespace, "model": self.request.model}
        return {f"present/{name}": Slice(query, labels)}

    def rate_probe(
        self,
        metric: MetricSpec,
        events: dict[str, Slice],
        requests_metric: str,
        *,
        events_series: str | None = None,
        assess: Callable[[RateSample], MetricTest] | None = None,
    ) -> Probe:
        """Events per request (`assess`: the test of the path, non-inferiority at the metric's
        margin unless given). `events_series` is the default query's event series, whose presence
        for the model tells zero events from a misnamed series; None for a user's query, whose
        answer must hold a series (a count of 0 is fine) for at least one version."""
        exposure_slices = self.batched("requests", defaults.requests(requests_metric, self.interval))
        slices = {**events, **exposure_slices, **self.present("requests", requests_metric)}
        if events_series is not None:
            slices.update(self.present("events", events_series))
        where = f"model {self.request.namespace}/{self.request.model}"
        lookback = self.lookback()

        def measure(answers: Answers, fail_only: bool = False) -> MetricTest:
            exposure = {role: samples.total(ranges(answers, f"requests/{role}")) for role in self.versions}
            if all(value is None for value in exposure.values()) and not answers.get("present/requests"):
                return checks.not_found(
                    requests_metric, lookback, exposure_slices[f"requests/{STABLE}"].query.promql
                )
            if (missing := self.missing(exposure)) is not None:
                return missing
            counted = [series for role in self.versions for series in ranges(answers, f"events/{role}")]
            query = events[f"events/{CANDIDATE}"].query.promql
            if events_series is None:
                if (problem := checks.count_shape_problem(counted)) is not None:
                    return checks.shape_invalid(problem, query)
                if not counted:
                    return checks.not_found("from the query", f"{where}: neither version returned one", query)
            elif not counted and not answers.get("present/events"):
                return checks.not_found(events_series, lookback, query)
            path = rate_path(answers, self.segments)
            if assess is not None:  # a goal: its own test, never carried
                return self._held_if_silent(answers, assess(path))
            result = assess_rate(path, _margin(metric), self.config(metric, fail_only))
            return _short_of_fail(result, fail_only) or self._held_if_silent(answers, result)

        carries = self.carries and assess is None
        fail_side = partial(measure, fail_only=True) if carries else None
        return Probe(metric, measure, slices, carries=carries, measure_fail=fail_side)

    def _drift(self, metric: MetricSpec) -> Probe:
        statistic = metric.statistic or DriftStatistic.PSI
        if metric.max is None:
            return settled(metric, inconclusive(str(statistic), "a drift metric needs `max`"))
        max_distance = metric.max
        slices, default_series = self._histogram_slices(
            metric, metric.metric_name or self.request.series.prediction
        )

        def measure(answers: Answers) -> MetricTest:
            sample = self._histograms(answers, {}, user_query(metric, slices), default_series=default_series)
            if isinstance(sample, MetricTest):
                return sample
            analysis = self.request.analysis
            result = assess_drift(sample, statistic, max_distance, analysis.min_samples, analysis.alpha)
            return self._held_if_silent(answers, result)

        return Probe(metric, measure, slices, carries=self.carries)


def plan(
    request: EvaluationRequest,
    window: RangeQuery | None,
    step: datetime | None = None,
    segments: tuple[float, ...] = (),
) -> list[Probe]:
    """One probe per selected metric; without a complete interval yet, probes that wait. `step`:
    the step's first look, when the window starts before it (evidence carried across steps);
    `segments`: the looks where the split changed within the window."""
    selected = request.metrics
    specs = {metric.name: metric for metric in request.analysis.metrics}
    names = list(selected) if selected is not None else list(specs)
    probes: list[Probe] = []
    planner = Planner(request, window, step or window.start, segments) if window is not None else None
    for name in names:
        metric = specs.get(name)
        if metric is None:
            # Unvalidated on purpose: only its name is shown; the CRD rejects such steps anyway.
            unknown = MetricSpec.model_construct(name=name, type=MetricType.CUSTOM)
            message = f"no metric named {name!r} in spec.analysis.metrics"
            probes.append(settled(unknown, inconclusive("none", message)))
        elif planner is None:
            message = "waiting for the first complete interval after the analysis started"
            probes.append(settled(metric, inconclusive("none", message)))
        else:
            probes.append(planner.probe(metric))
    if request.interleaved is not None:  # the experiment's own test, beside its guardrails
        waiting = "waiting for the first complete interval after the experiment started"
        probes.append(
            interleaving_probe(planner, request.interleaved)
            if planner is not None
            else waiting_interleaving(waiting)
        )
    if planner is not None and request.shadow is not None:
        return shadow_probes(planner, probes, request.shadow)
    return probes


def _short_of_fail(result: MetricTest, fail_only: bool) -> MetricTest | None:
    """A `fail_only` result short of a Fail as it is: a silent version's note (`checks`) never
    changes a Fail or the e-value, the two things such a result is read for."""
    return result if fail_only and result.verdict is not Verdict.FAIL else None


def _margin(metric: MetricSpec) -> Margin:
    return Margin(relative=metric.max_relative_increase, absolute=metric.max_absolute_increase)
