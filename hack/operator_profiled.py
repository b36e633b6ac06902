"""The operator with a CPU sampler and (optionally) tracemalloc, dumping on request: what
`hack/scale_profile.py` runs instead of `python -m modelrollout` to see where the memory and the
CPU of each rollout go.

    python hack/operator_profiled.py OUTDIR [--tracemalloc FRAMES] -- <operator arguments>

A thread samples every `PERIOD` seconds: the CPU time each thread used since the last sample (from
/proc/self/task/TID/schedstat, nanoseconds) is added to that thread's current stack, so a function
is weighted by the CPU spent while it was on a running thread's stack, not by wall time (threads
waiting on a socket or a lock count nothing). Writing OUTDIR/request-NAME makes it write
OUTDIR/NAME.json (RSS, glibc's mallinfo2 before and after malloc_trim if asked, the Python heap
as tracemalloc sees it, the profile since the previous dump) and OUTDIR/NAME.snap (a tracemalloc
snapshot), then delete the request. A request holding "trace" starts tracemalloc instead (after
the imports, which it would slow tenfold: the kubernetes client's API classes are large).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import runpy
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

PERIOD = 0.01
"""Seconds between two samples."""


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")
    ]  # fmt: skip


_libc = ctypes.CDLL("libc.so.6")
_libc.mallinfo2.restype = _MallInfo2


def mallinfo() -> dict[str, int]:
    info = _libc.mallinfo2()
    return {name: int(getattr(info, name)) for name, _ in _MallInfo2._fields_}


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def smaps_rollup() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0])
    return out


def _obmalloc_arenas() -> dict[str, int] | None:
    """KB in Python's small-object arenas (mapped apart from malloc), from sys._debugmallocstats
    (which writes to the C stderr: read back through a pipe)."""
    read, write = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(write, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    with os.fdopen(read) as stats:
        text = stats.read()
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() in ("# arenas allocated current", "# bytes in allocated blocks"):
            found[name.strip("# ").strip()] = int(value.replace(",", "").strip())
    if not found:
        return None
    return {
        "arenas_kb": found.get("arenas allocated current", 0) * 1024,  # 1 MiB arenas
        "blocks_kb": found.get("bytes in allocated blocks", 0) // 1024,
    }


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{code.co_firstlineno}:{code.co_name}"


class Sampler:
    def __init__(self, out: Path, frames: int) -> None:
        self.out = out
        self.frames = frames
        self.own: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.stacks: Counter[str] = Counter()
        self.threads: Counter[str] = Counter()
        self.cpu_ns = 0
        self.samples = 0
        self._last: dict[int, int] = {}
        self._since = time.monotonic()

    def run(self) -> None:
        me = threading.get_native_id()
        while True:
            time.sleep(PERIOD)
            try:
                self.sample(me)
                self.serve_requests()
            except Exception as error:  # the profiler must never stop the operator
                print(f"profiler: {error!r}", file=sys.stderr)

    def sample(self, me: int) -> None:
        by_native = {t.native_id: t for t in threading.enumerate() if t.native_id is not None}
        frames = sys._current_frames()
        for native, thread in by_native.items():
            if native == me:
                continue
            try:
                used = int(Path(f"/proc/self/task/{native}/schedstat").read_text().split()[0])
            except OSError:
                continue
            delta = used - self._last.get(native, used)
            self._last[native] = used
            if delta <= 0 or thread.ident not in frames:
                continue
            self.samples += 1
            self.cpu_ns += delta
            name = thread.name.rstrip("0123456789_-")
            self.threads[name] += delta
            frame: FrameType | None = frames[thread.ident]
            seen: set[str] = set()
            path: list[str] = []
            first = True
            while frame is not None:
                where = _where(frame)
                if first:
                    self.own[where] += delta
                    first = False
                if where not in seen:
                    self.total[where] += delta
                    seen.add(where)
                if len(path) < 12:
                    path.append(where.rsplit("/", 1)[-1])
                frame = frame.f_back
            self.stacks[" <- ".join(path)] += delta

    def serve_requests(self) -> None:
        for request in self.out.glob("request-*"):
            name = request.name.removeprefix("request-")
            options = request.read_text().split()
            if "trace" in options and not tracemalloc.is_tracing():
                tracemalloc.start(self.frames)
            else:
                self.dump(name, trim="trim" in options)
            (self.out / f"{name}.json").touch()
            request.unlink()

    def dump(self, name: str, trim: bool) -> None:
        gc.collect()
        report: dict[str, object] = {
            "at": time.time(),
            "rss_kb": rss_kb(),
            "smaps": smaps_rollup(),
            "mallinfo": mallinfo(),
            "threads": threading.active_count(),
            "gc_objects": len(gc.get_objects()),
        }
        arenas = _obmalloc_arenas()
        if arenas is not None:
            report["obmalloc"] = arenas
        if tracemalloc.is_tracing():
            current, peak = tracemalloc.get_traced_memory()
            report["traced_kb"] = current // 1024
            report["traced_peak_kb"] = peak // 1024
            tracemalloc.take_snapshot().dump(str(self.out / f"{name}.snap"))
            tracemalloc.reset_peak()
        if trim:
            _libc.malloc_trim(0)
            report["rss_after_trim_kb"] = rss_kb()
            report["mallinfo_after_trim"] = mallinfo()
        seconds = time.monotonic() - self._since
        report["profile"] = {
            "seconds": seconds,
            "cpu_s": self.cpu_ns / 1e9,
            "samples": self.samples,
            "threads_s": {k: v / 1e9 for k, v in self.threads.most_common()},
            "own_s": {k: v / 1e9 for k, v in self.own.most_common(80)},
            "total_s": {k: v / 1e9 for k, v in self.total.most_common(150)},
            "stacks_s": {k: v / 1e9 for k, v in self.stacks.most_common(60)},
        }
        (self.out / f"{name}.json").write_text(json.dumps(report, indent=1))
        self.own.clear()
        self.total.clear()
        self.stacks.clear()
        self.threads.clear()
        self.cpu_ns = self.samples = 0
        self._since = time.monotonic()


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--")
    own, operator_args = argv[:split], argv[split + 1 :]
    out = Path(own[0])
    out.mkdir(parents=True, exist_ok=True)
    frames = int(own[own.index("--tracemalloc") + 1]) if "--tracemalloc" in own else 1
    sampler = Sampler(out, frames)
    threading.Thread(target=sampler.run, name="profiler", daemon=True).start()
    sys.argv = ["modelrollout", *operator_args]
    runpy.run_module("modelrollout", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
