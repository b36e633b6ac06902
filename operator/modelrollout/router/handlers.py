"""The HTTP surface: KServe v1 and Open Inference Protocol (v2) predictions, passthrough of any
other path, model state, feedback, health, readiness and metrics. Every refusal is a JSON body
`{"error": ..., "code": ..., "requestId": ...}` with a status that says whose fault it is."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .admission import Admission, Overloaded
from .http_server import Request, Response, json_response
from .service import FeedbackError, RouterService
from .upstream import Forward, UpstreamError

REQUEST_ID = "x-request-id"
VERSION_HEADER = "x-modelrollout-version"
"""Which version answered (two, comma-separated, for an interleaved answer)."""
FEEDBACK_LIMIT = 64 * 1024

_PREDICT = re.compile(
    r"^/v1/models/([^/:]+):(?:predict|rank)$|^/v2/models/([^/]+)(?:/versions/[^/]+)?/infer$"
)
"""The model calls: counted, compared, interleaved (KServe v1 `:predict`, the reference model
server's ranking `:rank`, OIP `infer`); any other path is passed through to the chosen version."""
_V1_STATUS = re.compile(r"^/v1/models/([^/:]+)$")
_V2_READY = re.compile(r"^/v2/models/([^/]+)/ready$")


NO_CONFIG_BODY_LIMIT = 64 * 1024
"""The body limit before any configuration is known (such a request is refused anyway)."""
_ids = random.Random()
"""Request ids: 128 random bits from a generator seeded by the OS once, not a syscall each."""


def error_response(status: int, message: str, request_id: str | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"error": message, "code": status}
    if request_id is not None:
        body["requestId"] = request_id
        headers[REQUEST_ID] = request_id
    return json_response(body, status=status, headers=headers)


def too_large(request: Request, request_id: str | None = None) -> Response:
    return error_response(413, f"the request body is larger than {request.body_limit} bytes", request_id)


class Handlers:
    def __init__(self, service: RouterService, admission: Admission, serve_metrics: bool) -> None:
        self.service = service
        self.admission = admission
        self.serve_metrics = serve_metrics
        self.draining = False

    def body_limit(self, method: str, path: str) -> int:
        if path == "/feedback":
            return FEEDBACK_LIMIT
        snapshot = self.service.snapshot
        return NO_CONFIG_BODY_LIMIT if snapshot is None else snapshot.config.max_body_bytes

    async def dispatch(self, request: Request) -> Response:
        path, method = request.path, request.method
        if method == "GET":
            if path == "/healthz":
                return json_response({"status": "ok"})
            if path == "/readyz":
                return self.readyz()
            if path == "/metrics" and self.serve_metrics:
                return metrics_response(self.service)
            status = _V1_STATUS.match(path) or _V2_READY.match(path)
            if status:
                return self.model_state(status.group(1), v2=path.endswith("/ready"))
        if path == "/feedback" and method == "POST":
            return self.feedback(request)
        predict = _PREDICT.match(path) if method == "POST" else None
        model = (predict.group(1) or predict.group(2)) if predict else None
        return await self.forward(request, model, prediction=predict is not None)

    def readyz(self) -> Response:
        ready, reason = self.service.ready()
        if self.draining:
            ready, reason = False, "shutting down"
        body = {"ready": ready, "reason": reason, "configError": self.service.config_error}
        return json_response(body, status=200 if ready else 503)

    def model_state(self, model: str, v2: bool) -> Response:
        snapshot = self.service.snapshot
        if snapshot is None:
            return error_response(503, "the router has no valid configuration yet")
        if model != snapshot.config.model:
            return error_response(
                404, f"unknown model {model!r}; this router serves {snapshot.config.model!r}"
            )
        ready = snapshot.ready()
        versions = {
            name: {"weight": weight, "readyPods": len(snapshot.pods.get(name, ()))}
            for name, weight in snapshot.weights
        }
        body = {"name": model, "ready": ready, "versions": versions}
        return json_response(body, status=200 if ready or not v2 else 503)

    def feedback(self, request: Request) -> Response:
        if request.too_large:
            return too_large(request)
        try:
            payload = json.loads(request.body)
        except ValueError as error:
            return error_response(400, f"the feedback is not JSON: {error}")
        try:
            return json_response(self.service.feedback(payload))
        except FeedbackError as error:
            return error_response(error.status, error.message)

    async def forward(self, request: Request, model: str | None, prediction: bool) -> Response:
        headers = request.headers
        request_id = headers.get(REQUEST_ID)
        if not request_id:
            request_id = f"{_ids.getrandbits(128):032x}"
            headers[REQUEST_ID] = request_id  # the request's own end-to-end headers: forwarded as they are
        snapshot = self.service.snapshot
        if snapshot is None:
            return error_response(
                503, "the router has no valid configuration yet", request_id, **{"Retry-After": "1"}
            )
        config = snapshot.config
        if model is not None and model != config.model:
            return error_response(
                404, f"unknown model {model!r}; this router serves {config.model!r}", request_id
            )
        if request.too_large:
            return too_large(request, request_id)
        body = request.body
        if prediction:
            try:
                json.loads(body)
            except ValueError as error:
                return error_response(400, f"the request body is not JSON: {error}", request_id)
        try:
            await self.admission.acquire()
            try:
                forward = Forward(request.method, request.target, headers, body, prediction)
                answer = await self.service.serve(snapshot, forward, request.cookies, request_id)
            finally:
                self.admission.release()
        except Overloaded as error:
            self.service.metrics.overload.labels(self.service.namespace).inc()
            retry = str(self.service.settings.retry_after_seconds)
            return error_response(
                503, f"the router is overloaded ({error})", request_id, **{"Retry-After": retry}
            )
        except UpstreamError as error:
            return error_response(error.status, error.message, request_id, **{VERSION_HEADER: error.version})
        answered = answer.headers
        if REQUEST_ID in answered or VERSION_HEADER in answered:
            answered = answered.copy()
            answered.popall(REQUEST_ID, None)
            answered.popall(VERSION_HEADER, None)
        return Response(
            answer.body,
            answer.status,
            [*answered.items(), (REQUEST_ID, request_id), (VERSION_HEADER, answer.version)],
        )


def metrics_response(service: RouterService) -> Response:
    return Response(generate_latest(service.metrics.registry), content_type=CONTENT_TYPE_LATEST)
