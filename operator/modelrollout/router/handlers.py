"""The HTTP surface: KServe v1 and Open Inference Protocol (v2) predictions, passthrough of any
other path, model state, feedback, health, readiness and metrics. Every refusal is a JSON body
`{"error": ..., "code": ..., "requestId": ...}` with a status that says whose fault it is."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .admission import Admission, Overloaded
from .service import FeedbackError, RouterService
from .upstream import Forward, UpstreamError, forwarded_headers

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


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")


def error_response(status: int, message: str, request_id: str | None = None, **headers: str) -> web.Response:
    body: dict[str, Any] = {"error": message, "code": status}
    if request_id is not None:
        body["requestId"] = request_id
        headers[REQUEST_ID] = request_id
    return web.json_response(body, status=status, headers=headers)


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class Handlers:
    def __init__(self, service: RouterService, admission: Admission, serve_metrics: bool) -> None:
        self.service = service
        self.admission = admission
        self.serve_metrics = serve_metrics
        self.draining = False

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if method == "GET":
            if path == "/healthz":
                return web.json_response({"status": "ok"})
            if path == "/readyz":
                return self.readyz()
            if path == "/metrics" and self.serve_metrics:
                return metrics_response(self.service)
            status = _V1_STATUS.match(path) or _V2_READY.match(path)
            if status:
                return self.model_state(status.group(1), v2=path.endswith("/ready"))
        if path == "/feedback" and method == "POST":
            return await self.feedback(request)
        predict = _PREDICT.match(path) if method == "POST" else None
        model = (predict.group(1) or predict.group(2)) if predict else None
        return await self.forward(request, model, prediction=predict is not None)

    def readyz(self) -> web.Response:
        ready, reason = self.service.ready()
        if self.draining:
            ready, reason = False, "shutting down"
        body = {"ready": ready, "reason": reason, "configError": self.service.config_error}
        return web.json_response(body, status=200 if ready else 503)

    def model_state(self, model: str, v2: bool) -> web.Response:
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
        return web.json_response(body, status=200 if ready or not v2 else 503)

    async def feedback(self, request: web.Request) -> web.Response:
        try:
            payload = json.loads(await read_body(request, FEEDBACK_LIMIT))
        except _TooLarge as error:
            return error_response(413, str(error))
        except ValueError as error:
            return error_response(400, f"the feedback is not JSON: {error}")
        try:
            return web.json_response(self.service.feedback(payload))
        except FeedbackError as error:
            return error_response(error.status, error.message)

    async def forward(self, request: web.Request, model: str | None, prediction: bool) -> web.StreamResponse:
        request_id = request.headers.get(REQUEST_ID) or uuid.uuid4().hex
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
        try:
            async with self.admission.slot():
                body = await read_body(request, config.max_body_bytes)
                if prediction:
                    try:
                        json.loads(body)
                    except ValueError as error:
                        return error_response(400, f"the request body is not JSON: {error}", request_id)
                headers = forwarded_headers(request.headers, {REQUEST_ID: request_id})
                forward = Forward(request.method, request.path_qs, headers, body, prediction)
                answer = await self.service.serve(snapshot, forward, request.cookies, request_id)
        except Overloaded as error:
            self.service.metrics.overload.labels(self.service.namespace).inc()
            retry = str(self.service.settings.retry_after_seconds)
            return error_response(
                503, f"the router is overloaded ({error})", request_id, **{"Retry-After": retry}
            )
        except _TooLarge as error:
            return error_response(413, str(error), request_id)
        except UpstreamError as error:
            return error_response(error.status, error.message, request_id, **{VERSION_HEADER: error.version})
        headers = answer.headers.copy()
        headers[REQUEST_ID] = request_id
        headers[VERSION_HEADER] = answer.version
        return web.Response(body=answer.body, status=answer.status, headers=headers)


def metrics_response(service: RouterService) -> web.Response:
    response = web.Response(body=generate_latest(service.metrics.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
