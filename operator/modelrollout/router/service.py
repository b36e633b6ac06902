"""The router's state and its serving logic, apart from HTTP: what the handlers call.

Configuration and pods arrive as whole new `Snapshot`s (on the event loop's thread, from the
watches); each request reads the snapshot once at its start and keeps it, so an update applies to
the next request and never disturbs one in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict

from ..api.router_config import RouterConfig
from .bandit import ThompsonSampler
from .configuration import ConfigError, parse_config_map
from .interleave import credit, seeded_coin, team_draft
from .metrics import RouterMetrics
from .predictions import ranked_list, replace_ranked_list, scores_and_classes
from .recent import Recent
from .routing import Snapshot, build_snapshot, choose
from .settings import RouterSettings
from .shadow import ShadowCopier
from .upstream import Answer, Forward, Upstream, UpstreamError

log = logging.getLogger("modelrollout.router")

IMPRESSION_HEADER = "x-modelrollout-impression-id"


class FeedbackError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RouterService:
    def __init__(self, settings: RouterSettings, metrics: RouterMetrics, seed: int | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.namespace = settings.namespace
        self.rng = random.Random(seed)
        self.upstream = Upstream()
        self.shadow = ShadowCopier(Upstream(settings.shadow_connections), metrics, settings.namespace)
        self.config: RouterConfig | None = None
        self.config_error: str | None = None
        self.snapshot: Snapshot | None = None
        self.sampler: ThompsonSampler | None = None
        self._slices: dict[str, list[dict[str, Any]]] = {}
        self._impressions: Recent[str, tuple[tuple[str, str], dict[Any, int]]] = Recent(
            settings.impressions_kept
        )
        self._served_by: Recent[str, str] = Recent(settings.recent_requests_kept)

    async def start(self) -> None:
        await self.upstream.start()
        await self.shadow.upstream.start()

    async def close(self, grace: float) -> None:
        await self.shadow.drain(grace)
        await self.upstream.close()
        await self.shadow.upstream.close()

    # -- configuration and pods (called on the loop's thread) -----------------------------------------
    def config_map_changed(self, config_map: dict[str, Any] | None) -> None:
        labels = (self.namespace, self.settings.config_map)
        if config_map is None:
            log.warning("ConfigMap %s/%s is gone; serving the last good configuration", *labels)
            return
        try:
            config = parse_config_map(config_map)
        except ConfigError as error:
            self.config_error = str(error)
            self.metrics.config_rejections.labels(*labels).inc()
            self.metrics.config_valid.labels(*labels).set(0)
            log.error("ConfigMap %s/%s refused, serving the last good configuration: %s", *labels, error)
            return
        self.config, self.config_error = config, None
        self.metrics.config_valid.labels(*labels).set(1)
        if config.bandit is not None:
            if self.sampler is None:
                self.sampler = ThompsonSampler(config.bandit)
            self.sampler.reconfigure(config.bandit)
        self._rebuild()
        log.info("configuration applied: %s", {v.name: v.weight for v in config.versions})

    def slices_changed(self, slices_by_service: Mapping[str, list[dict[str, Any]]]) -> None:
        self._slices = dict(slices_by_service)
        self._rebuild()

    def _rebuild(self) -> None:
        if self.config is None:
            return
        self.snapshot = build_snapshot(self.config, self._slices)
        live = {address for pods in self.snapshot.pods.values() for address in pods.addresses}
        self.upstream.keep_only(live)
        self.shadow.upstream.keep_only(live)
        for version, pods in self.snapshot.pods.items():
            self.metrics.ready_endpoints.labels(self.namespace, self.config.model, version).set(len(pods))
        for entry in self.config.versions:
            # Counters appear at their first increment, and the analysis reads an absent error
            # series as a misnamed one: every version's exists at 0 (as the router's 502) from
            # its first configuration, so a version without errors has 0% of them.
            self.metrics.child(
                self.metrics.requests, self.namespace, self.config.model, entry.name, "error", "502"
            )
            if self.config.bandit is not None:
                # Likewise the bandit's counters: `increase()` reads a series that first appears
                # at 5 as no increase at all, so the operator's counts would miss its first pulls.
                for counter in (self.metrics.pulls, self.metrics.feedback, self.metrics.rewards):
                    self.metrics.child(counter, self.namespace, self.config.model, entry.name)

    def ready(self) -> tuple[bool, str]:
        if self.snapshot is None:
            return False, self.config_error or "no valid configuration yet"
        if not any(len(p) for p in self.snapshot.pods.values()):
            return False, "no version has a ready pod"
        return True, "ready"

    # -- serving ---------------------------------------------------------------------------------
    async def _counted(self, snapshot: Snapshot, version: str, forward: Forward) -> Answer:
        """One call to `version`; a model call's outcome, latency and scores are recorded."""
        labels = (self.namespace, snapshot.config.model, version)
        call = self.upstream.call(snapshot.versions[version], snapshot.pods.get(version), forward)
        if not forward.model_call:
            return await call
        try:
            answer = await call
        except UpstreamError as error:
            self.metrics.child(self.metrics.requests, *labels, "error", str(error.status)).inc()
            if error.latency > 0.0:
                self.metrics.child(self.metrics.latency, *labels).observe(error.latency)
            raise
        outcome = "error" if answer.failed else "success"
        self.metrics.child(self.metrics.requests, *labels, outcome, str(answer.status)).inc()
        self.metrics.child(self.metrics.latency, *labels).observe(answer.latency)
        if not answer.failed:
            scores, _ = scores_and_classes(answer.payload)
            if scores:
                histogram = self.metrics.child(self.metrics.prediction, *labels)
                for score in scores:
                    histogram.observe(score)
        return answer

    async def _with_fallback(self, snapshot: Snapshot, version: str, forward: Forward) -> Answer:
        """`version`'s answer; when it fails (no pods, connection, timeout, 5xx, garbage) and is
        not the stable, the stable's answer instead, so users keep being served."""
        stable = snapshot.stable
        try:
            answer = await self._counted(snapshot, version, forward)
            if not answer.failed or version == stable:
                return answer
            log.debug("version %s answered %d; retrying on the stable %s", version, answer.status, stable)
        except UpstreamError as error:
            if version == stable:
                raise
            log.debug("%s; retrying on the stable %s", error.message, stable)
        return await self._counted(snapshot, stable, forward)

    async def serve(
        self, snapshot: Snapshot, forward: Forward, cookies: Mapping[str, str], request_id: str
    ) -> Answer:
        config = snapshot.config
        choice = choose(snapshot, forward.headers, cookies, self.rng, self.sampler)
        if choice.how == "interleaving" and forward.model_call:
            return await self._interleave(snapshot, forward)
        answer = await self._with_fallback(snapshot, choice.version, forward)
        shadow = config.shadow
        if forward.model_call and shadow is not None and choice.version != shadow.version:
            served = None if answer.failed else (answer.payload, answer.latency)
            target, pods = snapshot.versions[shadow.version], snapshot.pods.get(shadow.version)
            self.shadow.copy(shadow, target, pods, config.model, forward, served, self.rng)
        if choice.how == "bandit":
            self.metrics.pulls.labels(self.namespace, config.model, choice.version).inc()
            self._served_by.put(request_id, answer.version)
        return answer

    async def _interleave(self, snapshot: Snapshot, forward: Forward) -> Answer:
        settings = snapshot.config.interleaving
        assert settings is not None
        first, second = settings.versions
        calls = [self._counted(snapshot, v, forward) for v in (first, second)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        answers = [r for r in results if isinstance(r, Answer) and not r.failed]
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, UpstreamError):
                raise result
        if len(answers) < 2:
            if answers:
                return answers[0]
            if snapshot.stable in (first, second):
                error = next(r for r in results if isinstance(r, UpstreamError | Answer))
                if isinstance(error, UpstreamError):
                    raise error
                return error
            return await self._counted(snapshot, snapshot.stable, forward)
        lists = [ranked_list(a.payload, settings.list_field) for a in answers]
        if lists[0] is None or lists[1] is None:
            return answers[0]
        impression = uuid.uuid4().hex
        merged = team_draft(lists[0], lists[1], settings.length, seeded_coin(impression))
        self._impressions.put(impression, ((first, second), {item: team for item, team in merged}))
        for version in (first, second):
            self.metrics.impressions.labels(self.namespace, snapshot.config.model, version).inc()
        payload = replace_ranked_list(answers[0].payload, settings.list_field, [item for item, _ in merged])
        payload["impressionId"] = impression
        answer_headers = CIMultiDict(answers[0].headers)
        answer_headers[IMPRESSION_HEADER] = impression
        latency = max(a.latency for a in answers)
        return Answer(
            f"{first},{second}", 200, json.dumps(payload).encode(), answer_headers, latency, payload
        )

    # -- feedback ----------------------------------------------------------------------------------
    def feedback(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise FeedbackError(400, "feedback is a JSON object")
        config = self.config
        if config is None:
            raise FeedbackError(503, "no configuration yet")
        if "impressionId" in payload:
            return self._clicks(config, payload)
        if "reward" in payload:
            return self._reward(config, payload)
        raise FeedbackError(
            400, "feedback needs impressionId and clicks, or reward with requestId or version"
        )

    def _clicks(self, config: RouterConfig, payload: dict[str, Any]) -> dict[str, Any]:
        clicks = payload.get("clicks")
        if not isinstance(clicks, list) or not all(
            isinstance(c, str | int) and not isinstance(c, bool) for c in clicks
        ):
            raise FeedbackError(400, "clicks must be a list of item ids")
        stored = self._impressions.pop(str(payload["impressionId"]))
        if stored is None:
            raise FeedbackError(404, f"impression {payload['impressionId']!r} is unknown or already credited")
        versions, teams = stored
        team = credit(teams, clicks)
        winner = "tie" if team is None else versions[team]
        self.metrics.wins.labels(self.namespace, config.model, winner).inc()
        return {"impressionId": payload["impressionId"], "winner": winner}

    def _reward(self, config: RouterConfig, payload: dict[str, Any]) -> dict[str, Any]:
        if self.sampler is None or config.bandit is None:
            raise FeedbackError(409, "no bandit is configured: rewards are not taken")
        reward = payload["reward"]
        if isinstance(reward, bool) or reward not in (0, 1):
            raise FeedbackError(400, f"reward must be 0 or 1, not {reward!r}")
        if "requestId" in payload:
            version = self._served_by.get(str(payload["requestId"]))
            if version is None:
                raise FeedbackError(
                    404, f"request {payload['requestId']!r} is unknown (or too old) to this router"
                )
        else:
            version = str(payload.get("version"))
        if version not in {v.name for v in config.versions}:
            raise FeedbackError(404, f"version {version!r} is not configured")
        self.sampler.reward(version, int(reward))
        self.metrics.feedback.labels(self.namespace, config.model, version).inc()
        if reward == 1:
            self.metrics.rewards.labels(self.namespace, config.model, version).inc()
        return {"version": version, "posterior": list(self.sampler.posterior(version))}
