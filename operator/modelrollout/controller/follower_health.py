"""`/healthz` for a replica that waits for the leader Lease.

kopf serves the liveness endpoint only once it runs, and a follower must not run kopf (it would
watch and act). Without an answer of its own a waiting replica fails its probes: the kubelet
restarts it forever and `helm --wait` never sees it ready. This server answers on the same port
until the Lease is won, then gives the port to kopf.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FollowerHealth"]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        healthy = self.path.split("?", 1)[0] == "/healthz"
        body = b"following: waiting for the leader Lease\n" if healthy else b"not found\n"
        self.send_response(200 if healthy else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would flood the operator's log."""


class FollowerHealth:
    """Answers `GET /healthz` with 200 on `port` until `stop()`."""

    def __init__(self, port: int, host: str = "0.0.0.0") -> None:
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="follower-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> FollowerHealth:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the socket, so kopf can bind the same port at once."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
