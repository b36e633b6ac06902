"""Leader election over a coordination.k8s.io/v1 Lease: of several operator replicas exactly
one acts, the others wait to take over.

Why a Lease and not kopf's peering: kopf's peers of equal priority run together (each only
warns about the other), and peering needs its own CRD. This is client-go's scheme, as
controller-runtime uses it: the leader renews every retry period; a follower checks every retry
period and takes a Lease left unrenewed for its duration; a leader that has not renewed within
its renew deadline (shorter than the duration) has stopped acting before anyone may take over.
Stopping is the caller's part (`startup.py` ends the process, as controller-runtime does).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..k8s import KubeClient, KubeError, NotFound
from .leader_lease import LeaseRecord, expires_at, may_take, read_lease, taken_lease
from .settings import LeaderElectionSettings

log = logging.getLogger("modelrollout.leader")


def default_identity() -> str:
    """Unique per process: two replicas on one node (or one restarted) never share it."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class LeaderElector:
    client: KubeClient
    settings: LeaderElectionSettings
    identity: str
    namespace: str
    clock: Callable[[], datetime] = _wall_clock
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    held_since: float | None = field(default=None, init=False)
    """Monotonic time of the last successful write of the Lease as its holder."""
    seen: LeaseRecord | None = field(default=None, init=False)
    """The Lease as last read."""
    released: bool = field(default=False, init=False)
    """Set by `release`: renewing ends, and nothing takes the Lease back."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def try_take(self, timeout: float | None = None) -> bool:
        """One attempt to take or renew the Lease; False when another replica holds it or won
        the race for it. API errors other than the 409 of a lost race propagate."""
        name = self.settings.lease_name
        try:
            body = self.client.get_lease(self.namespace, name, timeout=timeout)
        except NotFound:
            body = None
        record = self.seen = read_lease(body) if body is not None else None
        now = self.clock()
        if record is not None and not may_take(record, self.identity, now):
            return False
        wanted = taken_lease(
            self.namespace, name, record, self.identity, self.settings.lease_duration_seconds, now
        )
        try:
            if body is None:
                self.client.create_lease(self.namespace, wanted, timeout=timeout)
            else:
                self.client.replace_lease(self.namespace, name, wanted, timeout=timeout)
        except KubeError as error:
            if error.status == 409:
                return False
            raise
        return True

    def acquire(self) -> None:
        """Blocks until this replica holds the Lease, trying every retry period, and at the
        moment the holder's Lease expires if that comes sooner (a take-over within the lease
        duration of the last renewal, plus the time of one call)."""
        waiting_logged = False
        while True:
            started = self.monotonic()
            try:
                if self.try_take(timeout=self.settings.retry_period_seconds * 4):
                    self.held_since = started
                    log.info(
                        "%s leads (Lease %s/%s)", self.identity, self.namespace, self.settings.lease_name
                    )
                    return
                if not waiting_logged:
                    log.info("%s waits: another replica holds the Lease", self.identity)
                    waiting_logged = True
            except Exception as error:  # the apiserver unreachable: keep waiting, nothing acts
                log.warning(
                    "cannot read the Lease %s/%s: %s", self.namespace, self.settings.lease_name, error
                )
            self.sleep(self._until_next_try())

    def _until_next_try(self) -> float:
        wait = self.settings.retry_period_seconds
        expiry = expires_at(self.seen) if self.seen is not None else None
        if expiry is not None:
            wait = min(wait, max(0.0, (expiry - self.clock()).total_seconds()) + 0.01)
        return wait

    def renew_until_lost(self) -> str:
        """Renews every retry period while leading; returns why leadership ended: a rival holds
        the Lease, or no renewal succeeded within the renew deadline. Each call's timeout is the
        time left to the deadline, so a hanging apiserver cannot keep a deposed leader acting."""
        assert self.held_since is not None, "acquire() first"
        deadline = self.settings.renew_deadline_seconds
        while True:
            self.sleep(self.settings.retry_period_seconds)
            attempt = self.monotonic()
            left = deadline - (attempt - self.held_since)
            if left <= 0:
                return f"no renewal of the Lease within the renew deadline ({deadline:g}s)"
            try:
                with self._lock:
                    if self.released:
                        return "released"
                    renewed = self.try_take(timeout=left)
            except Exception as error:  # transient, until the deadline says otherwise
                log.warning("renewing the Lease failed: %s", error)
                continue
            if not renewed:
                return "another replica holds the Lease"
            if self.monotonic() - self.held_since > deadline:
                return f"the renewal came after the renew deadline ({deadline:g}s)"
            self.held_since = attempt

    def release(self) -> None:
        """On a graceful stop, once nothing acts any more: hand the Lease over at once (an empty
        holder, as client-go's ReleaseOnCancel), so a follower takes it at its next try instead
        of waiting out the lease duration. A failure leaves the Lease to expire."""
        with self._lock:
            self.released = True
            try:
                body = self.client.get_lease(self.namespace, self.settings.lease_name)
                if read_lease(body).holder != self.identity:
                    return
                spec = {**body["spec"], "holderIdentity": None, "leaseDurationSeconds": 1}
                self.client.replace_lease(self.namespace, self.settings.lease_name, {**body, "spec": spec})
            except Exception as error:
                log.warning("could not release the Lease: %s", error)
                return
        log.info("%s released the Lease", self.identity)
