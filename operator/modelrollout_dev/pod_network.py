"""A pod network for kwok pods: real model servers answering on the pods' own IPs.

kwok pods run no containers and the apiserver refuses loopback addresses in EndpointSlices, so a
router (or anything that resolves a Service's EndpointSlices, as a mesh does) could never reach a
process on 127.0.0.1. Here each local cluster's pod CIDR is routed from the host into a network
namespace of its own, and every Ready pod of a Deployment gets its IP inside it and a model server
bound to that IP (`ip netns exec`). Nothing leaves the machine: the routes lead only into the
namespace, which has no other link.

Addresses. kwok hands out pod IPs from `--cidr` starting at its first host address (a /16 gives
`x.y.0.1` to the first pod), so the host end of the link must lie outside the pod CIDR: the link
is the /30 `10.250.<second octet of the pod CIDR>.0/30` (host `.1`, namespace `.2`). kwok's
`--node-ip` is only the fake nodes' InternalIP; `LocalCluster` puts it at the CIDR's last address,
where no pod lands before 65,533 pods, since its old value (`x.y.0.1`) was also the first pod's.

Parallel runs. Two clusters with one pod CIDR would give their first pods the same IP, and only
one host route can lead to it. `claim_pod_cidr` hands each run its own /16 (`10.128.0.0/16` ..
`10.191.0.0/16`) under an flock held as long as the run lives (the kernel drops it when the
process dies), so the claim also tells `up` that leftovers of that CIDR (a run killed before its
teardown) are dead and may be removed.

Requires root (network namespaces, veth) and `ip` (iproute2).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .tools import cache_dir, is_running, repo_root, stop_pid, tail

__all__ = [
    "PodCidrClaim",
    "PodNetwork",
    "PodNetworkError",
    "PodServer",
    "claim_pod_cidr",
]

CLAIMED_RANGE_START = 128
"""Claimed pod CIDRs are 10.<128 + slot>.0.0/16."""
CLAIM_SLOTS = 64


class PodNetworkError(RuntimeError):
    """The pod network or a pod's server could not be set up; the message says which and why."""


@dataclass
class PodCidrClaim:
    """A pod CIDR no other run on this machine uses while this object holds its lock."""

    slot: int
    lock: IO[str] | None = field(repr=False)

    @property
    def pod_cidr(self) -> str:
        return f"10.{CLAIMED_RANGE_START + self.slot}.0.0/16"

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()  # closing the file drops the flock
            self.lock = None


def claim_pod_cidr() -> PodCidrClaim:
    """PodNetworkError when all slots are taken (64 runs at once on one machine)."""
    locks = cache_dir() / "run" / "pod-cidrs"
    locks.mkdir(parents=True, exist_ok=True)
    for slot in range(CLAIM_SLOTS):
        handle = (locks / f"slot-{slot}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return PodCidrClaim(slot, handle)
    raise PodNetworkError(f"all {CLAIM_SLOTS} pod CIDR slots under {locks} are held by running processes")


@dataclass
class PodServer:
    """A model server process standing in for one pod."""

    pod: str
    ip: str
    port: int
    pid: int
    log: Path
    group: str = ""
    """The pod's namespace: `sync_pods` stops the servers of that namespace's pods that left."""
    leaving_since: float | None = None
    """When `sync_pods` first saw the pod no longer Ready (monotonic), while it drains."""

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"


@dataclass
class _Spare:
    """A model server started with `--bind -`: warm, waiting on stdin for the address of its pod."""

    process: subprocess.Popen[bytes]
    log: Path

    def hand_over(self, bind: str, log: Path) -> Path:
        """Tells the server where to listen; returns its log, renamed after the pod."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(f"{bind}\n".encode())
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # it died before it read: the pod network reports its log
        self.log.rename(log)
        return log

    def stop(self) -> None:
        stop_pid(self.process.pid, timeout=5.0)
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if shutil.which("ip") is None:
        raise PodNetworkError("the pod network needs `ip` (Debian package iproute2)")
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise PodNetworkError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result


@dataclass
class PodNetwork:
    """One run's pod network for the pod CIDR `pod_cidr`; `up()` before use, `down()` always."""

    pod_cidr: str
    claim: PodCidrClaim | None = None
    """Held for `pod_cidr`: leftovers of that CIDR are a dead run's and `up` removes them.
    Without it, an existing route for the CIDR is another live run's and `up` refuses."""
    log_dir: Path | None = None
    """Where each pod's server writes its log (default: a directory under the cache's run/)."""
    ready_timeout: float = 15.0
    """Seconds a new pod's server has to answer its health check from the host."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:4])
    servers: dict[str, PodServer] = field(default_factory=dict)
    """Running servers by pod name."""
    spares: int = 1
    """Warm servers kept per set of server arguments. A pod is Ready (and gets traffic) the moment
    kwok says so, but starting Python with numpy takes seconds on a loaded machine: a server
    started before its pod exists and handed the pod's IP answers within milliseconds. More than
    one helps when a step adds several pods of a version at once."""

    def __post_init__(self) -> None:
        network = ipaddress.ip_network(self.pod_cidr)
        if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen < 8:
            raise PodNetworkError(f"pod CIDR {self.pod_cidr!r}: an IPv4 network of /8 or longer is needed")
        octet = str(network.network_address).split(".")[1]
        link = ipaddress.ip_network(f"10.250.{octet}.0/30")
        if network.overlaps(link):
            raise PodNetworkError(f"pod CIDR {self.pod_cidr} overlaps the link network {link}")
        self.namespace = f"mr-pods-{octet}-{self.run_id}"
        self.host_link = f"mrh{octet}-{self.run_id}"
        self.pod_link = f"mrp{octet}-{self.run_id}"
        self.host_address = f"10.250.{octet}.1"
        self.pod_side_address = f"10.250.{octet}.2"
        self._prefix = octet
        if self.log_dir is None:
            self.log_dir = cache_dir() / "run" / "pod-network" / self.namespace
        self._up = False
        self._lock = threading.RLock()
        self._spares: dict[tuple[str, ...], list[_Spare]] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    def up(self) -> PodNetwork:
        self._clear_route()
        self.log_dir_path.mkdir(parents=True, exist_ok=True)
        try:
            _ip("netns", "add", self.namespace)
            self._up = True
            _ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.pod_link)
            _ip("link", "set", self.pod_link, "netns", self.namespace)
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.host_link)
            _ip("link", "set", self.host_link, "up")
            self._in_namespace("ip", "addr", "add", f"{self.pod_side_address}/30", "dev", self.pod_link)
            self._in_namespace("ip", "link", "set", self.pod_link, "up")
            self._in_namespace("ip", "link", "set", "lo", "up")
            # The whole pod CIDR is local to the namespace: a connection to a pod that left (or
            # is not served yet) is refused at once, as by a real node, instead of its packets
            # being dropped and a router waiting for its timeout.
            self._in_namespace("ip", "route", "add", "local", self.pod_cidr, "dev", "lo")
            _ip("route", "add", self.pod_cidr, "via", self.pod_side_address, "dev", self.host_link)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stops every server by pid, then deletes the veth (and with it the route) and the
        namespace. Safe to call twice and after a failed `up`."""
        for server in list(self.servers.values()):
            self.stop_server(server.pod)
        with self._lock:
            for spares in self._spares.values():
                for spare in spares:
                    spare.stop()
            self._spares.clear()
        _ip("link", "del", self.host_link, check=False)
        if self._up or self.namespace in self.namespaces():
            _ip("netns", "del", self.namespace, check=False)
        self._up = False

    def __enter__(self) -> PodNetwork:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    @property
    def log_dir_path(self) -> Path:
        assert self.log_dir is not None
        return self.log_dir

    @staticmethod
    def namespaces() -> list[str]:
        return [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]

    def _clear_route(self) -> None:
        routes = json.loads(_ip("-j", "route", "show", self.pod_cidr).stdout or "[]")
        if not routes:
            return
        if self.claim is None:
            raise PodNetworkError(
                f"a route for {self.pod_cidr} exists already ({routes[0].get('dev')}): another run's pod "
                f"network serves it; give each cluster its own pod CIDR (claim_pod_cidr)"
            )
        for route in routes:  # a dead run's leftovers: its CIDR is ours now
            if route.get("dev"):
                _ip("link", "del", route["dev"], check=False)
        _ip("route", "del", self.pod_cidr, check=False)
        for name in self.namespaces():
            if name.startswith(f"mr-pods-{self._prefix}-"):
                _ip("netns", "del", name, check=False)

    def _in_namespace(self, *command: str) -> None:
        _ip("netns", "exec", self.namespace, *command)

    # -- pods ---------------------------------------------------------------------------------
    def serve(self, pod: str, ip: str, port: int, server_args: list[str], group: str = "") -> PodServer:
        """Gives the namespace `ip` and starts a model server on `ip:port` with `server_args`
        (`--model`, `--version`, ... of `modelrollout_dev.model_server`); returns once it answers
        from the host. A pod served already is left as it is. Thread-safe: a second caller for a
        pod being started waits until it answers."""
        with self._lock:
            return self._serve(pod, ip, port, server_args, group)

    def _serve(self, pod: str, ip: str, port: int, server_args: list[str], group: str) -> PodServer:
        if pod in self.servers:
            return self.servers[pod]
        if ipaddress.ip_address(ip) not in ipaddress.ip_network(self.pod_cidr):
            raise PodNetworkError(f"pod {pod} has IP {ip}, outside this network's pod CIDR {self.pod_cidr}")
        for other in [server for server in self.servers.values() if server.ip == ip]:
            # kwok hands a draining pod's IP to a new pod at once: the address is the new pod's now
            self._stop_server(other.pod)
        added = _ip(
            "netns",
            "exec",
            self.namespace,
            "ip",
            "addr",
            "add",
            f"{ip}/32",
            "dev",
            self.pod_link,
            check=False,
        )
        if added.returncode != 0 and not any(
            text in added.stderr for text in ("File exists", "already assigned")
        ):
            raise PodNetworkError(f"cannot give pod {pod} its IP {ip}: {added.stderr.strip()}")
        key = tuple(server_args)
        waiting = self._spares.get(key, [])
        while waiting and waiting[0].process.poll() is not None:
            waiting.pop(0)  # died warm (a bad flag): the next one, or a new one, shows why
        spare = waiting.pop(0) if waiting else self._start_spare(key)
        log = spare.hand_over(f"{ip}:{port}", self.log_dir_path / f"{pod}.log")
        server = PodServer(pod, ip, port, spare.process.pid, log, group)
        self.servers[pod] = server
        self._wait_answering(server)
        self.warm(server_args)
        return server

    def warm(self, server_args: list[str]) -> None:
        """Starts servers with `server_args` (without `--bind`) until `spares` wait for a pod."""
        with self._lock:
            key = tuple(server_args)
            waiting = self._spares.setdefault(key, [])
            waiting[:] = [spare for spare in waiting if spare.process.poll() is None]
            while len(waiting) < self.spares:
                waiting.append(self._start_spare(key))

    def spare_pids(self) -> list[int]:
        with self._lock:
            return [spare.process.pid for spares in self._spares.values() for spare in spares]

    def _start_spare(self, key: tuple[str, ...]) -> _Spare:
        log = self.log_dir_path / f"warm-{uuid.uuid4().hex[:8]}.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo_root() / "operator"), str(repo_root())]))
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, sys.executable, "-m", "modelrollout_dev.model_server",
                 "--bind", "-", *key],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        return _Spare(process, log)

    def stop_server(self, pod: str) -> None:
        """Stops the pod's server by pid and takes its IP out of the namespace."""
        with self._lock:
            self._stop_server(pod)

    def _stop_server(self, pod: str) -> None:
        server = self.servers.pop(pod, None)
        if server is None:
            return
        stop_pid(server.pid, timeout=5.0)
        _ip(
            "netns",
            "exec",
            self.namespace,
            "ip",
            "addr",
            "del",
            f"{server.ip}/32",
            "dev",
            self.pod_link,
            check=False,
        )

    def _wait_answering(self, server: PodServer) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not is_running(server.pid):
                break
            try:
                with urllib.request.urlopen(f"{server.url}/v2/health/ready", timeout=1.0) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self._stop_server(server.pod)
        raise PodNetworkError(
            f"the model server of pod {server.pod} did not answer on {server.url} within "
            f"{self.ready_timeout:.0f}s; its log:\n{tail(server.log)}"
        )
