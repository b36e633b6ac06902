"""`python -m modelrollout.router --namespace NS --config-map NAME --listen HOST:PORT`: one router
for one model, configured by its ConfigMap, reaching the versions' pods by their EndpointSlices.
Without Kubernetes: `--config-file router.json --endpoints SERVICE=HOST:PORT[,...]` (repeated)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from ..k8s import kubeconfig_client
from .discovery import Discovery
from .server import RouterServer
from .settings import RouterSettings
from .static import StaticSource

log = logging.getLogger("modelrollout.router")


def host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every address)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse(argv: Sequence[str] | None = None) -> RouterSettings:
    parser = argparse.ArgumentParser(prog="python -m modelrollout.router", description=__doc__)
    parser.add_argument(
        "--namespace", default="default", help="namespace of the ConfigMap and the versions' Services"
    )
    parser.add_argument("--config-map", help="the ConfigMap holding router.json")
    parser.add_argument("--config-file", type=Path, help="router.json from a file instead of a ConfigMap")
    parser.add_argument(
        "--endpoints",
        action="append",
        default=[],
        help="with --config-file: SERVICE=HOST:PORT[,HOST:PORT...]",
    )
    parser.add_argument(
        "--listen", type=host_port, default=("0.0.0.0", 8080), help="HOST:PORT (0.0.0.0:8080)"
    )
    parser.add_argument(
        "--metrics-listen", type=host_port, help="HOST:PORT for /metrics (default: the main port)"
    )
    parser.add_argument("--kubeconfig", help="a kubeconfig file (default: $KUBECONFIG, else in-cluster)")
    parser.add_argument("--max-in-flight", type=int, default=RouterSettings.max_in_flight)
    parser.add_argument("--max-queued", type=int, default=RouterSettings.max_queued)
    parser.add_argument("--shutdown-grace", type=float, default=RouterSettings.shutdown_grace_seconds)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if (args.config_map is None) == (args.config_file is None):
        parser.error("give exactly one of --config-map (Kubernetes) or --config-file (static)")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics_host, metrics_port = args.metrics_listen or (None, None)
    return RouterSettings(
        namespace=args.namespace,
        config_map=args.config_map or str(args.config_file),
        config_file=args.config_file,
        endpoints=tuple(args.endpoints),
        host=args.listen[0],
        port=args.listen[1],
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        kubeconfig=args.kubeconfig,
        max_in_flight=args.max_in_flight,
        max_queued=args.max_queued,
        shutdown_grace_seconds=args.shutdown_grace,
    )


async def serve(settings: RouterSettings) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = RouterServer(settings)
    await server.start()
    if settings.config_file is not None:
        static = StaticSource(server.service, settings.config_file, list(settings.endpoints))
        static.start()
        await stopping.wait()
        log.info("signal received")
        await static.stop()
        await server.stop()
        return
    discovery = Discovery(server.service, kubeconfig_client(settings.kubeconfig), loop)
    discovery.start()
    await stopping.wait()
    log.info("signal received")
    await server.stop()
    await asyncio.to_thread(discovery.stop)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse(argv)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(settings))


if __name__ == "__main__":
    main()
