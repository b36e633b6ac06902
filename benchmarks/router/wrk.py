"""wrk (the Debian package) driving POST predictions, and its report read into numbers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

POST_SCRIPT = """wrk.method = "POST"
wrk.body = '{"instances": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]]}'
wrk.headers["Content-Type"] = "application/json"
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_seconds: float
    p99_seconds: float
    requests: int
    errors: int
    """Non-2xx answers plus socket errors."""
    cpu_us_per_request: float | None = None
    """CPU time (user + system) of the process that wrk talked to, per request: what a request
    costs that process whatever else the machine runs (the throughput depends on the CPU share
    it gets, this does not)."""

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "requests_per_second": round(self.requests_per_second, 1),
            "p50_ms": round(self.p50_seconds * 1000, 3),
            "p99_ms": round(self.p99_seconds * 1000, 3),
            "requests": self.requests,
            "errors": self.errors,
            "cpu_us_per_request": None
            if self.cpu_us_per_request is None
            else round(self.cpu_us_per_request, 1),
        }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise WrkError(f"cannot read the duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", output, re.MULTILINE))
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if rate is None or total is None or "50" not in percentiles or "99" not in percentiles:
        raise WrkError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return WrkResult(
        float(rate.group(1)),
        _seconds(percentiles["50"]),
        _seconds(percentiles["99"]),
        int(total.group(1)),
        errors,
    )


def run(url: str, connections: int, duration: float, script: Path, pid: int | None = None) -> WrkResult:
    """One wrk run; with `pid`, the CPU that process spent per request during it."""
    before = cpu_seconds(pid) if pid is not None else 0.0
    result = _run(url, connections, duration, script)
    if pid is None or result.requests == 0:
        return result
    return replace(result, cpu_us_per_request=(cpu_seconds(pid) - before) / result.requests * 1e6)


def _run(url: str, connections: int, duration: float, script: Path) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkError("wrk is not installed (Debian package wrk; `make deps` installs it)")
    seconds = max(1, round(duration))
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise WrkError(f"wrk failed: {result.stderr or result.stdout}")
    return parse(result.stdout)
