"""A reference model server: what runs "inside" a kwok pod in tests, benchmarks and the demo.

`python -m modelrollout_dev.model_server --bind IP:PORT --model NAME --version V [...]`

It speaks both protocols a model router sees in practice, KServe v1 and the Open Inference
Protocol (v2), plus a ranking endpoint, and exports the conventional series of
`modelrollout.metrics` (`model_requests_total{namespace,model,version,outcome}`,
`model_request_duration_seconds`, `model_prediction`) on `/metrics`. Its behaviour is set from
the command line so that a test can make a candidate slower, flakier or drifted without code:

| endpoint                                   | answer                                              |
|--------------------------------------------|-----------------------------------------------------|
| `POST /v1/models/<m>:predict`              | `{"instances": [[x...], ...]}` -> `{"predictions": [score, ...]}` |
| `POST /v1/models/<m>:rank`                 | `{"user": id, "k": 10, "items": [...]?}` -> `{"ranking": [item ids]}` |
| `GET /v1/models/<m>`                       | `{"name": m, "ready": true}`                        |
| `POST /v2/models/<m>/infer`                | OIP tensors in, one FP64 tensor `score` out          |
| `GET /v2/models/<m>`, `/v2/models/<m>/ready` | metadata, readiness                               |
| `GET /v2/health/ready`, `/v2/health/live`  | 200 once serving                                    |

Every answer names the version that produced it (header `X-Model-Version`, and `model_version`
in the body) so a load generator behind a router can count who answered. `X-Request-Id` is
echoed. Errors are JSON `{"error": "..."}`: 400 bad input, 404 unknown model, 500 injected.

Outcomes: `success`; `error` for a 5xx (injected errors), the errors the analysis counts;
`invalid` for a 4xx, the client's fault, counted as requests but not as the model's errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from .model_server_scoring import LogisticScorer, Ranker, version_seed

__all__ = ["ModelServerSettings", "main", "make_app", "parse_bind"]

LABELS = ("namespace", "model", "version")
VERSION_HEADER = "X-Model-Version"
REQUEST_ID_HEADER = "X-Request-Id"
PREDICTION_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass
class ModelServerSettings:
    model: str
    version: str
    namespace: str = "default"
    """The `namespace` label of the series (the ModelRollout's namespace, as in a cluster)."""
    seed: int | None = None
    """Seeds the weights and the ranker's perturbation; None derives it from `version`, so two
    pods of one version agree and two versions differ."""
    latency_median: float = 0.0
    """Seconds added to every request, log-normal around this median; 0 adds nothing."""
    latency_sigma: float = 0.0
    """Sigma of the log-normal latency (0: every request waits exactly the median)."""
    error_rate: float = 0.0
    """Fraction of requests answered with an injected 500."""
    prediction_shift: float = 0.0
    """Added to the scorer's logits: a drifted candidate."""
    features: int = 8
    items: int = 100
    """The ranker's catalogue: item ids `item-0` .. `item-<items-1>`."""
    random_seed: int = 0
    """Seeds the latency and error draws (not the model), for repeatable test runs."""

    @property
    def model_seed(self) -> int:
        return version_seed(self.version) if self.seed is None else self.seed


@dataclass
class _Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "model_requests", "Requests answered, by outcome.", (*LABELS, "outcome"), registry=self.registry
        )
        self.latency = Histogram(
            "model_request_duration_seconds",
            "Time to answer a request.",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.prediction = Histogram(
            "model_prediction",
            "Scores predicted.",
            LABELS,
            buckets=PREDICTION_BUCKETS,
            registry=self.registry,
        )


class _BadRequest(Exception):
    """The client's input is unusable; the message goes into the JSON error body."""


class _Model:
    """One served model version: its scorer, ranker, behaviour and series."""

    def __init__(self, settings: ModelServerSettings) -> None:
        self.settings = settings
        self.scorer = LogisticScorer(settings.model_seed, settings.features, settings.prediction_shift)
        self.ranker = Ranker(settings.model_seed, settings.items)
        self.rng = np.random.default_rng(settings.random_seed)
        self.metrics = _Metrics()
        self.labels = (settings.namespace, settings.model, settings.version)

    async def behave(self) -> bool:
        """Waits the drawn latency; True when this request is to fail (an injected error)."""
        settings = self.settings
        if settings.latency_median > 0:
            delay = settings.latency_median * float(
                np.exp(settings.latency_sigma * self.rng.standard_normal())
            )
            await asyncio.sleep(delay)
        return settings.error_rate > 0 and float(self.rng.random()) < settings.error_rate

    def headers(self, request: web.Request) -> dict[str, str]:
        headers = {VERSION_HEADER: self.settings.version}
        request_id = request.headers.get(REQUEST_ID_HEADER)
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        return headers


Answer = Callable[[_Model, Any, web.Request], dict[str, Any]]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _check_model(request: web.Request) -> _Model | web.Response:
    model: _Model = request.app[_MODEL]
    name = request.match_info["model"]
    if name != model.settings.model:
        return _error(404, f"unknown model {name!r}: this server serves {model.settings.model!r}")
    return model


def _served(answer: Answer) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wraps an answer with what every inference endpoint shares: model check, body parsing,
    injected latency and errors, the series and the version header."""

    async def handler(request: web.Request) -> web.Response:
        model = _check_model(request)
        if isinstance(model, web.Response):
            return model
        started = time.perf_counter()
        headers = model.headers(request)
        try:
            body = json.loads(await request.read())
            fail = await model.behave()
            if fail:
                outcome, response = "error", _error(500, "injected error (--error-rate)", headers)
            else:
                payload = answer(model, body, request)
                payload["model_name"] = model.settings.model
                payload["model_version"] = model.settings.version
                outcome, response = "success", web.json_response(payload, headers=headers)
        except (ValueError, TypeError, _BadRequest) as error:  # json.JSONDecodeError is a ValueError
            outcome, response = "invalid", _error(400, f"bad request: {error}", headers)
        model.metrics.requests.labels(*model.labels, outcome).inc()
        model.metrics.latency.labels(*model.labels).observe(time.perf_counter() - started)
        return response

    return handler


def _predict_v1(model: _Model, body: Any, request: web.Request) -> dict[str, Any]:
    instances = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(instances, list) or not instances:
        raise _BadRequest('expected {"instances": [[number, ...], ...]}')
    scores = model.scorer.score(instances)
    _observe(model, scores)
    return {"predictions": scores}


def _infer_v2(model: _Model, body: Any, request: web.Request) -> dict[str, Any]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise _BadRequest('expected {"inputs": [{"name", "shape": [n, d], "datatype", "data"}]}')
    tensor = inputs[0]
    shape, data = tensor.get("shape"), tensor.get("data")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(s, int) and s > 0 for s in shape)):
        raise _BadRequest("shape must be [instances, features], both positive")
    flat = np.asarray(data, dtype=np.float64).ravel() if isinstance(data, list) else None
    if flat is None or flat.size != shape[0] * shape[1]:
        raise _BadRequest(f"data must hold {shape[0]} x {shape[1]} numbers")
    rows = [[float(value) for value in row] for row in flat.reshape(shape)]
    scores = model.scorer.score(rows)
    _observe(model, scores)
    response: dict[str, Any] = {
        "outputs": [{"name": "score", "shape": [len(scores)], "datatype": "FP64", "data": scores}]
    }
    if isinstance(body.get("id"), str):
        response["id"] = body["id"]
    return response


def _rank(model: _Model, body: Any, request: web.Request) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _BadRequest('expected {"user": id, "k": n, "items": [item ids]}')
    user = body.get("user", request.headers.get("X-User-Id", "anonymous"))
    k, items = body.get("k", 10), body.get("items")
    if not isinstance(user, str) or not isinstance(k, int) or isinstance(k, bool):
        raise _BadRequest("user must be a string and k an integer")
    if items is not None and not (isinstance(items, list) and all(isinstance(i, str) for i in items)):
        raise _BadRequest("items must be a list of item ids")
    return {"ranking": model.ranker.rank(user, k, items)}


def _observe(model: _Model, scores: list[float]) -> None:
    histogram = model.metrics.prediction.labels(*model.labels)
    for score in scores:
        histogram.observe(score)


async def _model_ready(request: web.Request) -> web.Response:
    model = _check_model(request)
    if isinstance(model, web.Response):
        return model
    return web.json_response({"name": model.settings.model, "ready": True}, headers=model.headers(request))


async def _model_metadata(request: web.Request) -> web.Response:
    model = _check_model(request)
    if isinstance(model, web.Response):
        return model
    settings = model.settings
    metadata = {
        "name": settings.model,
        "versions": [settings.version],
        "platform": "modelrollout-reference",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, settings.features]}],
        "outputs": [{"name": "score", "datatype": "FP64", "shape": [-1]}],
    }
    return web.json_response(metadata, headers=model.headers(request))


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    model: _Model = request.app[_MODEL]
    response = web.Response(body=generate_latest(model.metrics.registry))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


_MODEL = web.AppKey("model", _Model)


def make_app(settings: ModelServerSettings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[_MODEL] = _Model(settings)
    app.router.add_post("/v1/models/{model}:predict", _served(_predict_v1))
    app.router.add_post("/v1/models/{model}:rank", _served(_rank))
    app.router.add_get("/v1/models/{model}", _model_ready)
    app.router.add_post("/v2/models/{model}/infer", _served(_infer_v2))
    app.router.add_get("/v2/models/{model}/ready", _model_ready)
    app.router.add_get("/v2/models/{model}", _model_metadata)
    for path in ("/v2/health/ready", "/v2/health/live", "/healthz"):
        app.router.add_get(path, _health)
    app.router.add_get("/metrics", _metrics)
    return app


def parse_bind(bind: str) -> tuple[str, int]:
    """`IP:PORT` (IPv6 as `[::1]:PORT`); ValueError says what is wrong."""
    host, separator, port = bind.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise ValueError(f"--bind wants IP:PORT, not {bind!r}")
    return host.strip("[]"), int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.model_server", description=__doc__)
    parser.add_argument(
        "--bind",
        required=True,
        help="IP:PORT to listen on; `-`: start warm, print `warm`, read IP:PORT from stdin",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--namespace", default="default", help="the namespace label of the series")
    parser.add_argument("--seed", type=int, default=None, help="model seed (default: from the version)")
    parser.add_argument("--latency-median", type=float, default=0.0, help="seconds (log-normal)")
    parser.add_argument("--latency-sigma", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--prediction-shift", type=float, default=0.0, help="added to the logits")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--random-seed", type=int, default=0, help="seeds latency and error draws")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0.0 <= args.error_rate <= 1.0 or args.latency_median < 0 or args.latency_sigma < 0:
        print("--error-rate must be within 0..1 and latencies non-negative", file=sys.stderr)
        return 2
    settings = ModelServerSettings(**{k: v for k, v in vars(args).items() if k != "bind"})  # flag = field
    app = make_app(settings)
    bind = args.bind
    if bind == "-":
        # A pod network starts servers before their pods exist (starting Python with numpy takes
        # seconds on a loaded machine), so a pod that turns Ready is answered within milliseconds.
        print("warm", flush=True)
        bind = sys.stdin.readline().strip()
        if not bind:
            return 0  # not needed after all: the pod network closed stdin
    try:
        host, port = parse_bind(bind)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
