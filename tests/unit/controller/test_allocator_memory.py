"""A tick's freed peak goes back to the system (issue 22): the operator's allocator settings and
its trim, in a process of their own (they are process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from modelrollout.controller.memory import MemorySettings, Trimmer, configure_allocator

PEAK = textwrap.dedent(
    """
    import json, threading
    from pathlib import Path
    from modelrollout.controller.memory import MemorySettings, configure_allocator, trim

    def rss_kb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    configured = configure_allocator(MemorySettings())
    kept, peak = [], []

    def tick():  # a thread's arena, as a reconcile's or an analysis'
        for i in range(3000):
            peak.append(bytearray(16 * 1024))  # parsed answers, freed after the tick
            kept.append(bytearray(600))  # what the tick leaves behind, between them

    worker = threading.Thread(target=tick)
    worker.start()
    worker.join()
    base = rss_kb()
    peak.clear()
    freed = rss_kb()
    trim()
    print(json.dumps({"configured": configured, "peak_kb": base, "freed_kb": freed, "trimmed_kb": rss_kb()}))
    """
)


def test_a_freed_peak_is_given_back_to_the_system() -> None:
    result = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True, check=True)
    sizes = json.loads(result.stdout)
    assert sizes["configured"], "glibc: the allocator is configured"
    peak = 3000 * 16
    assert sizes["freed_kb"] > sizes["peak_kb"] - peak / 2, (
        "freeing alone keeps the pages (the test's premise)"
    )
    assert sizes["trimmed_kb"] < sizes["peak_kb"] - peak * 0.6, sizes


def test_the_trimmer_runs_on_its_clock_and_stops() -> None:
    assert configure_allocator(MemorySettings(arenas=0, mmap_threshold_bytes=0))
    trimmer = Trimmer(0.01).start()
    try:
        import time

        deadline = time.monotonic() + 5
        while trimmer.trims < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        trimmer.stop()
    assert trimmer.trims >= 2
    assert Trimmer(0).start().trims == 0, "0: never"
