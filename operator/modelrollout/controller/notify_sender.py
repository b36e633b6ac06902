"""Sends notifications on threads of its own, never on a reconcile's.

A reconcile only hands a notification over (`submit`), which never blocks: the queue is bounded,
and one that is full refuses (the notification stays pending in the rollout's annotation and is
handed over again by a later reconcile). Each receiver is tried `attempts` times with doubling
waits; a receiver still failing after that is given up with a Warning Event. The URL comes from
a Secret read when sending, under the rules Prometheus credentials follow (`metrics.access`): a
Secret labelled for it (unless allowed prefixes are configured), https unless under an allowed
prefix, never a link-local or metadata address. A refusal is a Warning Event too, and sends
nothing. Nothing here touches the rollout itself: its reconciles go on whatever a receiver does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..api.v1alpha1 import NotificationFormat, Reason
from ..k8s import KubeClient, KubeError
from ..metrics import PrometheusPolicy, forbidden_destination
from .notify_payload import HEADER_ID, Notification, render

log = logging.getLogger("modelrollout.notify")

NOTIFICATION_LABEL = ("modelrollout.io/notification-credentials", "true")
"""The label a Secret must carry before the URL it holds is called (unless the operator has an
allow-list of URL prefixes): a user who can name any Secret in a spec can thereby only use those
an administrator marked for this purpose."""


@dataclass(frozen=True)
class Receiver:
    """Where one notification goes: a format and the Secret key holding the URL."""

    name: str
    format: NotificationFormat
    namespace: str
    secret: str
    key: str


@dataclass
class NotificationSettings:
    attempts: int = 5
    """Tries per receiver before a notification is given up (with a Warning Event)."""
    backoff_seconds: float = 1.0
    """Wait before the second try; doubled before each next one, up to `max_backoff_seconds`."""
    max_backoff_seconds: float = 60.0
    """Longest wait between two tries."""
    timeout_seconds: float = 10.0
    """How long one request may take."""
    queue_size: int = 1000
    """Deliveries (a notification to one receiver) waiting at most; more are refused and handed
    over again by a later reconcile."""
    workers: int = 2
    """Threads sending; a slow receiver holds one of them for at most `timeout_seconds`."""
    allowed_url_prefixes: tuple[str, ...] = ()
    """When not empty, only URLs under one of these are called (`--notification-allowed-url`),
    http ones included, and Secrets need no label."""
    defaults: tuple[Receiver, ...] = ()
    """Receivers of every rollout that sets no `spec.notifications` (`--default-notification`)."""


@dataclass(order=True)
class _Delivery:
    due: float
    order: int
    receiver: Receiver = field(compare=False)
    notification: Notification = field(compare=False)
    involved: dict[str, Any] = field(compare=False)
    attempt: int = field(default=1, compare=False)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A receiver answering with a redirect is not followed: the address checked is the one
    called (a redirect to a metadata address would pass every check above)."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Refused(Exception):
    """The operator will not send to this receiver as configured."""


class Notifier:
    def __init__(self, client: KubeClient, settings: NotificationSettings | None = None) -> None:
        self.client = client
        self.settings = settings or NotificationSettings()
        self._policy = PrometheusPolicy(allowed_url_prefixes=self.settings.allowed_url_prefixes)
        self._queue: list[_Delivery] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._outstanding: dict[str, int] = {}
        """Per notification id: deliveries not yet finished (sent or given up)."""
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def start(self) -> Notifier:
        for index in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"modelrollout-notify-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def submit(self, notification: Notification, receivers: list[Receiver], involved: dict[str, Any]) -> bool:
        """Hands a notification over for every receiver; False (nothing queued) when the queue
        has no room for all of them. Never blocks on the network."""
        with self._ready:
            if notification.id in self._outstanding:
                return True
            if len(self._queue) + len(receivers) > self.settings.queue_size:
                return False
            self._outstanding[notification.id] = len(receivers)
            for receiver in receivers:
                delivery = _Delivery(time.monotonic(), next(self._order), receiver, notification, involved)
                heapq.heappush(self._queue, delivery)
            self._ready.notify_all()
        return True

    def finished(self, identity: str) -> bool | None:
        """True once every receiver has the notification or was given up, False while some
        delivery is under way, None when it was never handed over (since this process started)."""
        with self._ready:
            left = self._outstanding.get(identity)
        return None if left is None else left == 0

    def acknowledge(self, identity: str) -> None:
        """The rollout no longer lists it as pending: forget it (memory stays bounded)."""
        with self._ready:
            if self._outstanding.get(identity) == 0:
                del self._outstanding[identity]

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._stopped and (not self._queue or self._queue[0].due > time.monotonic()):
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._ready.wait(wait)
                if self._stopped:
                    return
                delivery = heapq.heappop(self._queue)
            if self._deliver(delivery):
                with self._ready:
                    self._outstanding[delivery.notification.id] -= 1

    def _deliver(self, delivery: _Delivery) -> bool:
        """One try; True when the delivery is over (sent, refused or given up)."""
        receiver, notification = delivery.receiver, delivery.notification
        try:
            url = self._url(receiver)
            self._post(url, render(notification, receiver.format), notification.id)
        except Refused as refused:
            self._warn(delivery, Reason.NOTIFICATION_REFUSED, str(refused))
            return True
        except (OSError, ValueError) as error:
            if delivery.attempt >= self.settings.attempts:
                message = (
                    f"notification {notification.event.value} to {receiver.name} ({receiver.format.value}) "
                    f"given up after {delivery.attempt} tries: {_reason(error)}"
                )
                self._warn(delivery, Reason.NOTIFICATION_FAILED, message)
                return True
            wait = min(
                self.settings.max_backoff_seconds, self.settings.backoff_seconds * 2 ** (delivery.attempt - 1)
            )
            log.info("notification %s to %s failed (%s); retrying in %.1fs", notification.id, receiver.name,
                     _reason(error), wait)  # fmt: skip
            delivery.attempt += 1
            delivery.due = time.monotonic() + wait
            with self._ready:
                heapq.heappush(self._queue, delivery)
                self._ready.notify_all()
            return False
        log.info("notification %s sent to %s", notification.id, receiver.name)
        return True

    def _url(self, receiver: Receiver) -> str:
        where = f"Secret {receiver.namespace}/{receiver.secret}"
        try:
            secret = self.client.read_secret(receiver.namespace, receiver.secret)
        except KubeError as error:
            raise Refused(f"notification receiver {receiver.name}: cannot read {where}: {error}") from error
        label, value = NOTIFICATION_LABEL
        if not self._policy.allowed_url_prefixes and secret.labels.get(label) != value:
            raise Refused(
                f'{Reason.NOTIFICATION_REFUSED}: {where} is not labelled {label}: "{value}"; the operator '
                "sends notifications only to URLs from Secrets labelled for it (or runs with "
                "--notification-allowed-url)"
            )
        url = (secret.data.get(receiver.key) or "").strip()
        if not url:
            raise Refused(f"notification receiver {receiver.name}: {where} has no key {receiver.key!r}")
        shown = f"the URL in {where} key {receiver.key}"  # never the URL: it is the credential
        if not self._policy.allows(url):
            allowed = ", ".join(self._policy.allowed_url_prefixes)
            raise Refused(
                f"{Reason.NOTIFICATION_REFUSED}: {shown} is not under an address the operator allows "
                f"(--notification-allowed-url: {allowed})"
            )
        if urlsplit(url).scheme != "https" and not self._policy.allowed_url_prefixes:
            raise Refused(
                f"{Reason.NOTIFICATION_REFUSED}: {shown} is not https (a webhook URL is a credential); "
                "plain http only under --notification-allowed-url"
            )
        forbidden = forbidden_destination(url, self._policy, Reason.NOTIFICATION_REFUSED, shown)
        if forbidden is not None:
            raise Refused(forbidden)
        return url

    def _post(self, url: str, body: bytes, identity: str) -> None:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", HEADER_ID: identity}
        )
        with _OPENER.open(request, timeout=self.settings.timeout_seconds) as response:
            response.read()

    def _warn(self, delivery: _Delivery, reason: Reason, message: str) -> None:
        log.warning("%s: %s", delivery.notification.id, message)
        try:
            self.client.create_event(delivery.involved, "Warning", str(reason), message)
        except KubeError as error:
            log.info("the Warning Event was not posted: %s", error)


def _reason(error: Exception) -> str:
    """What went wrong, without the URL (it is the credential)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"unreachable ({error.reason})"
    return type(error).__name__ + (f": {error}" if not isinstance(error, ValueError) else "")
