"""kopf wiring, and the only module that imports kopf (`kopf_bodies` reaches into one of its
internals): a daemon per ModelRollout that reconciles on change and on time, and a finalizer
that hands all traffic back to the stable on deletion.

"On change" means a change the watch caches report for the rollout (`wakeups`): its own object
(not our own writes), its Deployments, its Service, the route objects its traffic provider uses,
an upstream rollout. "On time" is the delay
the reconcile asked for (a pause, the analysis clock), or else the slow safety resync.

Why a daemon and not on.create/on.update handlers: the rollout is a long process with timers
(pauses, analysis intervals); a daemon resumes after an operator restart by itself and keeps no
handler progress in the object, so a SIGKILL at any point loses nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import kopf

from ..api.v1alpha1 import ANNOTATION_ACTION, GROUP, PLURAL, VERSION
from ..evaluation import EvaluationRequest, EvaluationResult
from ..k8s import KubeClient, label_selector
from ..rollout import AnalysisObservation
from .analysis_batcher import AnalysisBatcher, analysis_request, observation
from .exporter import forget_rollout
from .finalize import StableNotReady, finalize
from .instruments import RECONCILE_ERRORS
from .kopf_bodies import drop_managed_fields
from .observe import Loaded, pending_action
from .reconcile import Reconciler, now_utc
from .settings import OperatorSettings
from .shards import release_foreign_finalizers, shard_finalizer
from .wakeups import Wakeups

log = logging.getLogger("modelrollout.handlers")


class _Waiting(NamedTuple):
    """A due analysis: what is asked, of which version of the rollout, at what time."""

    request: EvaluationRequest
    version: object
    now: datetime


@dataclass
class Runtime:
    """What the handlers share, passed through kopf's memo (no module globals)."""

    settings: OperatorSettings
    client: KubeClient
    reconciler: Reconciler
    batcher: AnalysisBatcher
    wakeups: Wakeups = field(default_factory=Wakeups)
    """Where each daemon waits for a change to its objects (none reported without watch caches)."""

    async def reconcile_once(
        self,
        namespace: str,
        name: str,
        written_action: Callable[[], str | None] = lambda: None,
        changed: asyncio.Event | None = None,
    ) -> float | None:
        """One reconcile. A manual action goes first: one pending at the read is decided without
        asking Prometheus (the step holds this tick), and one written while an analysis is being
        evaluated (`written_action` reads the watched copy of the object) ends that wait and is
        decided on a fresh read, so a slow or silent Prometheus never delays an abort. `changed`
        (the daemon's wake-up, set when the watch caches see the rollout change) spares reading
        the watched copy until something changed.

        While the analysis runs the daemon holds its request, not the rollout it read: at a
        boundary every due rollout waits at once, and their copies were most of the operator's
        peak memory. The rollout is read again (from the cache) once the analysis is in; one
        that changed meanwhile is decided without it, as a status write refused for the stale
        read would have been."""
        prepared = await asyncio.to_thread(self._prepare, namespace, name)
        if not isinstance(prepared, _Waiting):
            return prepared  # reconciled at once (or gone)
        request, version, now = prepared
        evaluation = asyncio.ensure_future(self.batcher.evaluate(request))
        if not await self._ends_before_an_action(evaluation, written_action, changed):
            evaluation.cancel()  # the batcher leaves a cancelled request's result unset
            return await asyncio.to_thread(self._reconcile_analysed, namespace, name, None, None, now_utc())
        analysis = None
        try:
            analysis = observation(evaluation.result())
        except Exception:
            # A broken evaluation is no evidence either way: the step holds and the
            # next tick tries again (never a rollback or promotion on an error).
            log.exception("analysis of %s/%s failed", namespace, name)
        return await asyncio.to_thread(self._reconcile_analysed, namespace, name, version, analysis, now)

    def _prepare(self, namespace: str, name: str) -> _Waiting | float | None:
        """The rollout read, then either reconciled at once (nothing due, or an action pending)
        or turned into the request its daemon waits on; its copy never leaves this thread."""
        loaded = self._live(namespace, name)
        if loaded is None:
            return None
        now = now_utc()
        request = None
        if loaded.spec is not None and not pending_action(loaded.body):
            request = analysis_request(namespace, name, loaded.spec, loaded.status, now)
        if request is None:
            return self.reconciler.reconcile(loaded, None, now)
        return _Waiting(request, loaded.body["metadata"].get("resourceVersion"), now)

    def _reconcile_analysed(
        self, namespace: str, name: str, version: object, analysis: AnalysisObservation | None, now: datetime
    ) -> float | None:
        """Read and reconcile in one go on one thread: at a boundary every due rollout is answered
        within seconds, and a read made on its own would wait for a reconcile thread with its copy
        (about 50 KB) while the pool worked through the other reads, all of them held at once."""
        fresh = self._live(namespace, name)
        if fresh is None:
            return None
        if fresh.body["metadata"].get("resourceVersion") != version:
            analysis = None  # asked for a version that is gone: the next look asks again
        return self.reconciler.reconcile(fresh, analysis, now)

    async def _ends_before_an_action(
        self,
        evaluation: asyncio.Future[EvaluationResult],
        written_action: Callable[[], str | None],
        changed: asyncio.Event | None = None,
    ) -> bool:
        """Waits for the evaluation; False as soon as a manual action is written instead. The
        watched copy is read every `poll_seconds`, or, given `changed`, once it is set and every
        `poll_seconds` after (kopf's copy may trail the caches' event): a thousand rollouts
        waiting out a long tick do not each wake twice a second."""
        while not evaluation.done():
            if changed is None or changed.is_set():
                await asyncio.wait({evaluation}, timeout=self.settings.reconcile.poll_seconds)
            else:
                woken: asyncio.Future[Any] = asyncio.ensure_future(changed.wait())
                waited: set[asyncio.Future[Any]] = {evaluation, woken}
                try:
                    await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
            if not evaluation.done() and written_action():
                return False
        return True

    def _live(self, namespace: str, name: str) -> Loaded | None:
        """The rollout as stored, or None when there is nothing to reconcile: gone (its gauges
        forgotten, since no finalizer ran if it was removed by hand) or being deleted (the
        finalizer's turn)."""
        loaded = self.reconciler.load(namespace, name)
        if loaded is None:
            forget_rollout(namespace, name)
            self.reconciler.forget(namespace, name)
            return None
        return None if loaded.body["metadata"].get("deletionTimestamp") else loaded


def serves(labels: Any, memo: kopf.Memo, **_: Any) -> bool:
    """The handlers' filter (`--selector`): a rollout outside this operator's shard gets no
    daemon and no finalizer here, and one relabelled out of it has its daemon stopped and this
    shard's finalizer taken off by kopf, while the shard it joined takes it up."""
    selector = memo["runtime"].settings.selector
    return selector is None or _parsed(selector)(labels)


_parsed = functools.lru_cache(maxsize=4)(label_selector)
"""The selector parsed once, not at every watch event of every rollout."""


@kopf.on.startup()
async def use_reconcile_threads(memo: kopf.Memo, **_: Any) -> None:
    """The reconciles' pool (`ReconcileSettings.workers`), set in the loop kopf runs."""
    runtime: Runtime = memo["runtime"]
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=runtime.settings.reconcile.workers, thread_name_prefix="reconcile")
    )


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    # kopf's own calls (finalizers, its annotations, Events) are bounded as ours are, not by
    # aiohttp's five minutes: a silent apiserver must not hold a deletion or a daemon's start.
    settings.networking.request_timeout = runtime.settings.kube_request_timeout_seconds
    settings.networking.connect_timeout = min(10.0, runtime.settings.kube_request_timeout_seconds)
    # Progress and diff-base in annotations: status stays ours, and the apiserver would prune
    # undeclared status fields anyway.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="modelrollout.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="modelrollout.io", key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.persistence.finalizer = shard_finalizer(runtime.settings.selector)
    # No namespace or CRD watches: with `--namespace` the operator serves exactly those names and
    # needs no cluster-wide grant (manifests/install/rbac-namespaced.yaml); cluster-wide, the
    # ModelRollout CRD is found at startup by discovery, which needs no grant either.
    settings.scanning.disabled = True
    drop_managed_fields()  # before the watchers start, which kopf does after the startup handlers


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0, when=serves)  # type: ignore[arg-type]
async def rollout_daemon(
    stopped: kopf.DaemonStopped, namespace: str, name: str, meta: Any, memo: kopf.Memo, **_: Any
) -> None:
    runtime: Runtime = memo["runtime"]
    await _release_foreign_finalizers(runtime, namespace, name, meta)
    timing = runtime.settings.reconcile
    wakeups = runtime.wakeups
    wakeup = wakeups.register(namespace, name)
    stopping = asyncio.ensure_future(_until_stopped(stopped))
    failures = 0
    try:
        while not stopped:
            started = time.monotonic()
            wakeup.begin()  # a change from here on is one this reconcile may not have read
            try:
                delay = await runtime.reconcile_once(
                    namespace,
                    name,
                    lambda: (meta.get("annotations") or {}).get(ANNOTATION_ACTION),
                    wakeup.event,
                )
                failures = 0
            except Exception:
                RECONCILE_ERRORS.inc()
                failures += 1
                delay = min(60.0, 2.0**failures)
                log.exception("reconcile of %s/%s failed; retrying in %.0fs", namespace, name, delay)
            if failures:
                wait = delay or 0.0  # back off: the object changing does not make a bug go away
            else:
                wait = timing.resync_seconds if delay is None else min(delay, timing.resync_seconds)
            until = started + max(timing.min_delay_seconds, wait)
            earliest = until if failures else started + timing.min_delay_seconds
            await wakeups.sleep(namespace, name, wakeup, until, earliest, stopping)
    finally:
        stopping.cancel()
        wakeups.forget(namespace, name, wakeup)


async def _until_stopped(stopped: kopf.DaemonStopped) -> None:
    await stopped.wait()


async def _release_foreign_finalizers(runtime: Runtime, namespace: str, name: str, meta: Any) -> None:
    own = shard_finalizer(runtime.settings.selector)
    finalizers = list(meta.get("finalizers") or [])
    await asyncio.to_thread(release_foreign_finalizers, runtime.client, namespace, name, finalizers, own)


@kopf.on.delete(GROUP, VERSION, PLURAL, when=serves)  # type: ignore[arg-type]
async def on_delete(namespace: str, name: str, body: Any, memo: kopf.Memo, retry: int, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    from .observe import load

    loaded = load(dict(body))
    deadline_key = f"{namespace}/{name}"
    deadlines: dict[str, float] = memo.setdefault("finalizer_deadlines", {})
    deadline = deadlines.setdefault(
        deadline_key, time.monotonic() + runtime.settings.finalizer.stable_ready_timeout_seconds
    )
    try:
        message = await asyncio.to_thread(finalize, runtime.client, loaded, deadline)
    except StableNotReady as waiting:
        raise kopf.TemporaryError(str(waiting), delay=1.0) from None
    deadlines.pop(deadline_key, None)
    await _release_foreign_finalizers(runtime, namespace, name, body["metadata"])
    log.info("%s/%s deleted: %s", namespace, name, message)
