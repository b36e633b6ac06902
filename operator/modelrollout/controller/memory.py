"""How the operator's process gives memory back: glibc's allocator, told at startup and trimmed on
a clock.

Every analysis tick parses Prometheus' answers and every rollout's status at once, then frees them.
With glibc's defaults each of the operator's threads (16 reconciles, 4 analyses, the informers)
may get an arena of its own, and what one arena freed is not reused by another thread nor given
back to the system; a freed block above the mmap threshold raises that threshold, so the next
tick's large buffers come from the arenas too. The resident size then grows with the fleet's peak,
not with what the operator holds. So the process keeps few arenas, a fixed mmap threshold (large
buffers are mapped and unmapped), and trims the arenas every `trim_seconds`.

None of this changes what the operator does; where the C library is not glibc (musl) it is
skipped and only memory is at stake.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("modelrollout.memory")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
"""mallopt() parameters, from glibc's malloc.h."""


@dataclass
class MemorySettings:
    arenas: int = 2
    """glibc malloc arenas the threads share (0: glibc's default, eight per core). Two keep the
    threads from contending on one lock while most of what a tick frees is reused."""
    mmap_threshold_bytes: int = 128 * 1024
    """Allocations at least this large are mapped on their own and unmapped when freed (glibc's
    initial value, here kept fixed: glibc raises it after each large free, and the buffers of
    Prometheus' answers and of TLS connections then stay in the arenas). 0: glibc's default."""
    trim_seconds: float = 30.0
    """How often the arenas' free pages are given back to the system (malloc_trim), once per
    analysis interval by default: a few milliseconds each. 0: never."""


@functools.cache
def _glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None
    return libc


def configure_allocator(settings: MemorySettings) -> bool:
    """Before any thread starts (arenas already made keep their threads). False without glibc."""
    libc = _glibc()
    if libc is None:
        log.info("not glibc: the allocator keeps its defaults")
        return False
    if settings.arenas:
        libc.mallopt(M_ARENA_MAX, settings.arenas)
    if settings.mmap_threshold_bytes:
        libc.mallopt(M_MMAP_THRESHOLD, settings.mmap_threshold_bytes)
        libc.mallopt(M_TRIM_THRESHOLD, 2 * settings.mmap_threshold_bytes)
    return True


def trim() -> bool:
    """Give the arenas' free pages back to the system now; False without glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


class Trimmer:
    """A daemon thread that trims every `seconds` until stopped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.trims = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> Trimmer:
        if self.seconds > 0 and _glibc() is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.seconds):
            trim()
            self.trims += 1
