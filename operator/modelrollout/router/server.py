"""The router's listeners and lifecycle: start, serve, and a graceful stop.

A stop (SIGTERM) first reports not-ready, closes the listeners so no new connection arrives, lets
the requests in flight finish within the grace period (what is left after it is cancelled), lets
shadow copies finish within what is left of it, and only then closes the connection pools.
"""

from __future__ import annotations

import logging
import time

from .admission import Admission
from .handlers import FEEDBACK_LIMIT, Handlers, error_response, metrics_response
from .http_server import HttpServer, Request, Response
from .metrics import RouterMetrics
from .service import RouterService
from .settings import RouterSettings

log = logging.getLogger("modelrollout.router")


class RouterServer:
    def __init__(
        self, settings: RouterSettings, metrics: RouterMetrics | None = None, seed: int | None = None
    ) -> None:
        self.settings = settings
        self.service = RouterService(settings, metrics or RouterMetrics(), seed)
        self.admission = Admission(
            settings.max_in_flight, settings.max_queued, settings.queue_timeout_seconds
        )
        separate = settings.metrics_port is not None
        self.handlers = Handlers(self.service, self.admission, serve_metrics=not separate)
        self._servers: list[HttpServer] = []
        self.port: int | None = None
        """The main listener's port once started (useful with port 0)."""
        self.metrics_port: int | None = None

    async def _route(self, request: Request) -> Response:
        try:
            return await self.handlers.dispatch(request)
        except Exception as error:  # the router answers, whatever went wrong
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return error_response(500, f"the router failed: {type(error).__name__}: {error}")

    async def _metrics(self, request: Request) -> Response:
        if request.path != "/metrics" or request.method not in ("GET", "HEAD"):
            return error_response(404, "this listener serves GET /metrics only")
        return metrics_response(self.service)

    async def start(self) -> None:
        await self.service.start()
        main = HttpServer(self._route, self.handlers.body_limit)
        self._servers.append(main)
        self.port = await main.start(self.settings.host, self.settings.port)
        if self.settings.metrics_port is not None:
            metrics = HttpServer(self._metrics, lambda method, path: FEEDBACK_LIMIT)
            self._servers.append(metrics)
            host = self.settings.metrics_host or self.settings.host
            self.metrics_port = await metrics.start(host, self.settings.metrics_port)
        log.info("router listening on %s:%s", self.settings.host, self.port)

    async def stop(self) -> None:
        started = time.monotonic()
        self.handlers.draining = True
        log.info("stopping: finishing %d requests in flight", self.admission.in_flight)
        for server in self._servers:
            left = max(0.0, self.settings.shutdown_grace_seconds - (time.monotonic() - started))
            await server.stop(left)
        left = max(0.0, self.settings.shutdown_grace_seconds - (time.monotonic() - started))
        await self.service.close(left)
        log.info("stopped after %.2fs", time.monotonic() - started)
