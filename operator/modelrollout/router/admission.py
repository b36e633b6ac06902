"""Backpressure: at most `max_in_flight` user requests are forwarded at once and `max_queued`
wait for a slot; beyond that (or after waiting `queue_timeout` seconds) a request is refused
with `Overloaded`, which the handler answers 503 with Retry-After."""

from __future__ import annotations

import asyncio


class Overloaded(Exception):
    pass


class Admission:
    def __init__(self, max_in_flight: int, max_queued: int, queue_timeout: float) -> None:
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.in_flight = 0
        self.queued = 0
        self._slots = asyncio.Semaphore(max_in_flight)

    async def acquire(self) -> None:
        """Take a slot (`release()` it after), or raise `Overloaded`. Plain methods rather than
        only a context manager: the hot path saves the generator's cost on every request."""
        if self._slots.locked():
            if self.queued >= self.max_queued:
                raise Overloaded(f"{self.in_flight} requests in flight and {self.queued} queued")
            self.queued += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.queue_timeout)
            except TimeoutError:
                raise Overloaded(f"no slot within {self.queue_timeout:g}s") from None
            finally:
                self.queued -= 1
        else:
            await self._slots.acquire()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._slots.release()
