"""Runs the analysis intervals that are due, batched across every rollout the operator handles.

Each rollout's reconcile asks for its interval; requests arriving within `batch_window` seconds
are evaluated together, so N rollouts on one Prometheus send one query per metric template. One
`PointStore` per Prometheus holds what earlier ticks read: a tick asks only for the newest
interval (and the previous one again, for scrape lag), and a request arriving later in the same
tick is answered from the store without a query, so the queries per interval do not depend on the
number of rollouts nor on when in the tick each one asks. A request that arrives while a batch is
being evaluated is served by the next round, right after it, never at the next boundary.

A batch against one Prometheus ends within `analysis_deadline` of its query timeout, however the
server behaves (one that accepts connections and never answers included); what is not answered by
then is no evidence this interval, and the step holds. The queries run on the batcher's own
threads, so a Prometheus that holds them never holds up the Kubernetes calls of a reconcile.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from ..api.v1alpha1 import (
    ModelRolloutSpec,
    ModelRolloutStatus,
    PrometheusSpec,
    Reason,
    SecretKeyRef,
    Verdict,
    parse_duration,
    parse_timestamp,
)
from ..evaluation import EvaluationRequest, EvaluationResult, evaluate_intervals, request_for_step
from ..k8s import KubeClient, KubeError
from ..metrics import (
    CREDENTIALS_LABEL,
    BatchedQuerier,
    MetricSource,
    PointStore,
    PrometheusCredentials,
    PrometheusPolicy,
    PrometheusSource,
    UnavailableSource,
    new_metric_source,
    refusal,
)
from ..rollout import AnalysisObservation, analysis_due, analysis_window
from .instruments import InstrumentedSource

ANALYSIS_DEADLINE_TIMEOUTS = 3
"""One batch against one Prometheus may take this many query timeouts: a query that times out is
tried twice (two timeouts), and the third leaves the batch's other queries room on a server that
is slow but answering."""


def analysis_deadline(spec: PrometheusSpec | None) -> float:
    """Seconds one analysis tick may take against `spec`'s Prometheus (30 s at the default 10 s
    query timeout; without a Prometheus nothing is queried and the bound is never reached)."""
    timeout = parse_duration(spec.timeout if spec is not None else "10s")
    return ANALYSIS_DEADLINE_TIMEOUTS * timeout


def analysis_request(
    namespace: str, name: str, spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime
) -> EvaluationRequest | None:
    """The interval to evaluate now, or None when the current step is not a due analysis."""
    if not analysis_due(spec, status, now) or spec.candidate is None or status.stable_version is None:
        return None
    if status.candidate_version != spec.candidate.version:
        return None  # the candidate just changed: decide() starts the new rollout first
    started, end = analysis_window(spec, status, now)
    recorded = status.analysis.evidence_started_at if status.analysis is not None else None
    changes = status.analysis.split_changes if status.analysis is not None else []
    return request_for_step(
        spec,
        namespace=namespace,
        name=name,
        started_at=started,
        at=end,
        step=status.current_step,
        stable_version=status.stable_version,
        presence_at=now,
        evidence_started_at=parse_timestamp(recorded),
        split_changes=tuple(t for t in map(parse_timestamp, changes) if t is not None),
    )


def observation(result: EvaluationResult) -> AnalysisObservation | None:
    """What `decide` sees of an interval. An Inconclusive interval whose queries failed never
    counts as the final look: with Prometheus down the step waits (weights held, stable serving)
    instead of applying onInconclusive, so an outage can neither roll back nor promote. A Fail
    another metric proved in the same interval still counts, since a rollback is always safe;
    so does a Pass, which the judge gives with a deciding metric's query failing only when score
    thresholds make that metric's verdict irrelevant (the score passes even if it failed).
    A configuration error (a deciding metric's series does not exist, or its query has the wrong
    shape) holds the step the same way: only a person fixing the spec can end it, and the judge
    never passes it."""
    held = result.source_failed or result.configuration_error is not None
    if held and result.final and result.verdict is Verdict.INCONCLUSIVE:
        return None
    return AnalysisObservation(
        verdict=result.verdict,
        evaluated_at=result.evaluated_at,
        score=result.judgement.score,
        metrics=tuple(result.metrics),
        message=result.judgement.explanation,
        evidence_intervals=result.evidence_intervals,
        bandit=result.bandit,
    )


class PrometheusUnusable(Exception):
    """A Secret the Prometheus spec names cannot be read, or the operator refuses to query this
    Prometheus as configured (then `configuration_error` says so); the message says which and why."""

    def __init__(self, message: str, configuration_error: str | None = None) -> None:
        super().__init__(message)
        self.configuration_error = configuration_error


@dataclass
class _Pending:
    request: EvaluationRequest
    source_key: tuple[str, ...]
    future: asyncio.Future[EvaluationResult]


@dataclass
class AnalysisBatcher:
    client: KubeClient
    batch_window: float = 0.2
    policy: PrometheusPolicy = field(default_factory=PrometheusPolicy)
    """Which Prometheus addresses the operator may call, and how (`metrics.access`)."""
    _pending: list[_Pending] = field(default_factory=list)
    _sources: dict[tuple[str, ...], MetricSource] = field(default_factory=dict)
    """One source per Prometheus spec, and per namespace when the spec names Secrets (the same
    Secret names hold other credentials in another namespace)."""
    _fingerprints: dict[tuple[str, ...], int] = field(default_factory=dict)
    """The credentials each source was made with: a rotated token replaces the source instead
    of adding one, so a long-running operator keeps one session (and CA file) per spec."""
    _stores: dict[tuple[str, ...], PointStore] = field(default_factory=dict)
    """What each Prometheus answered in earlier ticks, by the same key as its source (a rotated
    token replaces the source, not what the server holds)."""
    _checks: dict[tuple[str, ...], asyncio.Future[PrometheusCredentials | None]] = field(default_factory=dict)
    """The check of each Prometheus in progress (one per key, replaced by the next)."""
    _flush: asyncio.Task[None] | None = None
    _threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="modelrollout-analysis")
    )
    """The analysis' own threads: a query held past the deadline keeps one of these, never one of
    the default pool the Kubernetes calls run on."""

    async def evaluate(self, request: EvaluationRequest) -> EvaluationResult:
        spec = request.analysis.prometheus
        secret_scope = request.namespace if spec and (spec.auth or spec.ca_secret) else ""
        key = (spec.address if spec else "", repr(spec), secret_scope)
        try:
            credentials = await self._checked(key, request.namespace, spec)
        except PrometheusUnusable as error:
            self._sources[key] = UnavailableSource(str(error), error.configuration_error)
            self._fingerprints.pop(key, None)
        else:
            secrets = (
                (credentials.bearer_token, credentials.username, credentials.password, credentials.ca_bundle)
                if credentials
                else ()
            )
            if self._fingerprints.get(key) != hash(secrets):  # set only beside its source
                self._sources[key] = new_metric_source(spec, credentials)
                self._fingerprints[key] = hash(secrets)
        future: asyncio.Future[EvaluationResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(request, key, future))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._flush_soon())
        return await future

    async def _checked(
        self, key: tuple[str, ...], namespace: str, spec: PrometheusSpec | None
    ) -> PrometheusCredentials | None:
        """`_credentials` (on a thread: it may resolve a name and read Secrets), one check shared
        by every request of `key` that arrives while it runs: the rollouts due at a boundary ask
        together, and a request after it (a rotated token) gets a check of its own."""
        check = self._checks.get(key)
        if check is None or check.done():
            check = self._checks[key] = asyncio.ensure_future(
                asyncio.to_thread(self._credentials, namespace, spec)
            )
        # Shielded: a daemon cancelled while it waits must not cancel the check the others share.
        return await asyncio.shield(check)

    async def _flush_soon(self) -> None:
        """Evaluate batches until nothing waits. A request that arrived while a batch was being
        evaluated found this task running and started none, so it is served by the next round
        here rather than by whichever rollout asks next (an interval late, or never)."""
        while self._pending:
            await asyncio.sleep(self.batch_window)
            pending, self._pending = self._pending, []
            await self._evaluate(pending)

    async def _evaluate(self, pending: list[_Pending]) -> None:
        groups: dict[tuple[str, ...], list[_Pending]] = {}
        for item in pending:
            groups.setdefault(item.source_key, []).append(item)
        # Concurrently: a silent Prometheus holds up only the rollouts that use it.
        await asyncio.gather(*(self._evaluate_group(key, items) for key, items in groups.items()))
        self._forget_idle_stores(set(groups))

    def _forget_idle_stores(self, used: set[tuple[str, ...]]) -> None:
        """A store forgets only when it is used; one of a Prometheus no rollout names any more
        is swept here, so what it held goes too (unless a late batch still holds it)."""
        for key, store in list(self._stores.items()):
            if key in used or not store.lock.acquire(blocking=False):
                continue
            try:
                store.forget(store.clock())
            finally:
                store.lock.release()
            if store.empty():
                del self._stores[key]

    async def _evaluate_group(self, key: tuple[str, ...], items: list[_Pending]) -> None:
        requests = [item.request for item in items]
        spec = requests[0].analysis.prometheus
        deadline = analysis_deadline(spec)
        # The querier sends no query after the deadline, so a thread left behind ends soon after.
        store = self._stores.setdefault(key, PointStore())
        source = self._sources[key]
        if isinstance(source, PrometheusSource):  # what is sent to a server is counted and timed
            source = InstrumentedSource(source)
        querier = BatchedQuerier(source, deadline=time.monotonic() + deadline, store=store)
        work = asyncio.get_running_loop().run_in_executor(
            self._threads, evaluate_intervals, requests, querier
        )
        try:
            results = await asyncio.wait_for(work, deadline)
        except TimeoutError:
            address = spec.address if spec is not None else "none"
            late = UnavailableSource(
                f"the analysis did not finish within {deadline:g}s (Prometheus at {address} answers "
                "too slowly or not at all): no evidence this interval"
            )
            results = evaluate_intervals(requests, late)
        except Exception as error:  # a bug must not leave reconciles waiting forever
            for item in items:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        for item, result in zip(items, results, strict=True):
            if not item.future.done():  # its daemon may have been cancelled meanwhile
                item.future.set_result(result)

    def _credentials(self, namespace: str, spec: PrometheusSpec | None) -> PrometheusCredentials | None:
        """Secrets named by the spec, read at evaluation time so a rotated token is picked up,
        once the operator's policy allows the address.

        A Secret or key that cannot be read raises `PrometheusUnusable`: sending the queries
        without the credentials would only turn a clear cause into an opaque 401. A refused
        address or a Secret not labelled for Prometheus raises it as a configuration error.
        """
        if spec is None:
            return None
        if (refused := refusal(spec, self.policy)) is not None:
            raise PrometheusUnusable(refused, Reason.PROMETHEUS_REFUSED.value)
        if spec.auth is None and spec.ca_secret is None:
            return None

        def read(ref: SecretKeyRef | None) -> str | None:
            if ref is None:
                return None
            where = f"Secret {namespace}/{ref.name}"
            try:
                secret = self.client.read_secret(namespace, ref.name)
            except KubeError as error:
                raise PrometheusUnusable(
                    f"cannot read key {ref.key!r} of {where} for Prometheus: {error}"
                ) from error
            label, value = CREDENTIALS_LABEL
            if not self.policy.allowed_url_prefixes and secret.labels.get(label) != value:
                raise PrometheusUnusable(
                    f'{Reason.PROMETHEUS_REFUSED}: {where} is not labelled {label}: "{value}"; the operator '
                    "sends Prometheus only Secrets labelled for it (or runs with --prometheus-allowed-url)",
                    Reason.PROMETHEUS_REFUSED.value,
                )
            if ref.key not in secret.data:
                raise PrometheusUnusable(
                    f"cannot read key {ref.key!r} of {where} for Prometheus: no such key"
                )
            return secret.data[ref.key]

        auth = spec.auth
        return PrometheusCredentials(
            bearer_token=read(auth.bearer_token if auth else None),
            username=read(auth.username if auth else None),
            password=read(auth.password if auth else None),
            ca_bundle=read(spec.ca_secret),
        )
