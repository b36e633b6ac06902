"""The router's listeners and lifecycle: start, serve, and a graceful stop.

A stop (SIGTERM) first reports not-ready, closes the listeners so no new connection arrives, lets
the requests in flight finish within the grace period (aiohttp cancels what is left after it),
lets shadow copies finish within what is left of it, and only then closes the connection pools.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from .admission import Admission
from .handlers import Handlers, error_response, metrics_response
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
        self._runners: list[web.AppRunner] = []
        self.port: int | None = None
        """The main listener's port once started (useful with port 0)."""
        self.metrics_port: int | None = None

    async def _route(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self.handlers.dispatch(request)
        except Exception as error:  # the router answers, whatever went wrong
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return error_response(500, f"the router failed: {type(error).__name__}: {error}")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        return metrics_response(self.service)

    async def _listen(self, app: web.Application, host: str, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.settings.shutdown_grace_seconds)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        self._runners.append(runner)
        address = runner.addresses[-1]  # the bound port, when 0 was asked for
        return int(address[1])

    async def start(self) -> None:
        await self.service.start()
        app = web.Application(client_max_size=1024**3, handler_args={"max_field_size": 16 * 1024})
        app.router.add_route("*", "/{tail:.*}", self._route)
        self.port = await self._listen(app, self.settings.host, self.settings.port)
        if self.settings.metrics_port is not None:
            metrics_app = web.Application()
            metrics_app.router.add_get("/metrics", self._metrics)
            host = self.settings.metrics_host or self.settings.host
            self.metrics_port = await self._listen(metrics_app, host, self.settings.metrics_port)
        log.info("router listening on %s:%s", self.settings.host, self.port)

    async def stop(self) -> None:
        started = time.monotonic()
        self.handlers.draining = True
        log.info("stopping: finishing %d requests in flight", self.admission.in_flight)
        for runner in self._runners:
            await runner.cleanup()
        left = max(0.0, self.settings.shutdown_grace_seconds - (time.monotonic() - started))
        await self.service.close(left)
        log.info("stopped after %.2fs", time.monotonic() - started)
