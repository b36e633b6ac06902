"""Which Prometheus addresses the operator may call, and how: its defence against its own users.

Whoever may create a ModelRollout names an address and Secrets in its spec; the operator then
sends queries there with its own network position and, with `auth`, the Secrets' contents. So
before anything is sent:

* credentials go only over https with certificate verification; `insecureSkipVerify` needs the
  operator's own consent (`allow_insecure`), since it lets anyone on the path read them and
  feed the analysis made-up numbers;
* with an allow-list (`allowed_url_prefixes`) only addresses under it are queried at all;
* link-local and cloud metadata addresses are never queried, also when a host name resolves to
  one (a metadata server hands out the node's cloud credentials to whoever asks).

The host name is resolved again at each evaluation, which narrows but does not close the window
of a name that changes between this check and the connection (DNS rebinding); the allow-list
closes it for names a person vetted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..api.v1alpha1 import PrometheusSpec, Reason

__all__ = ["CREDENTIALS_LABEL", "PrometheusPolicy", "forbidden_destination", "refusal", "resolve_host"]

CREDENTIALS_LABEL = ("modelrollout.io/prometheus-credentials", "true")
"""The label a Secret must carry before its keys are sent to a Prometheus (unless the operator
has an allow-list of addresses): a user who can name any Secret in a spec can thereby only send
those an administrator marked for this purpose."""

METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)
"""Host names of cloud metadata services, refused before any lookup."""
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
"""Metadata services outside the link-local ranges (AWS over IPv6, Alibaba Cloud), besides the
link-local 169.254.169.254 of AWS, GCP and Azure."""


def resolve_host(host: str) -> list[str]:
    """The addresses `host` resolves to (empty when it does not resolve: the query then fails as
    an unreachable Prometheus would, with nothing sent)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class PrometheusPolicy:
    """What the operator was started to allow (`--allow-insecure-prometheus`,
    `--prometheus-allowed-url`)."""

    allow_insecure: bool = False
    """Whether a spec may set `insecureSkipVerify` (credentials then go over unverified TLS)."""
    allowed_url_prefixes: tuple[str, ...] = ()
    """When not empty, only addresses equal to one of these or below it (`PREFIX/...`) are
    queried, and Secrets need no label (the addresses they go to were vetted)."""
    resolve: Callable[[str], Sequence[str]] = field(default=resolve_host, compare=False)
    """Host name to addresses; a seam for tests."""

    def allows(self, address: str) -> bool:
        """Whether `address` lies under an allowed prefix, as a path, never as a longer host
        name or port (`https://prom:9090` does not allow `https://prom:9090.evil.example`)."""
        if not self.allowed_url_prefixes:
            return True
        address = address.rstrip("/")
        return any(
            address == prefix.rstrip("/") or address.startswith(prefix.rstrip("/") + "/")
            for prefix in self.allowed_url_prefixes
        )


def refusal(spec: PrometheusSpec, policy: PrometheusPolicy) -> str | None:
    """Why the operator will not query the Prometheus of `spec`, or None when it may."""
    address = spec.address
    if not policy.allows(address):
        allowed = ", ".join(policy.allowed_url_prefixes)
        return (
            f"{Reason.PROMETHEUS_REFUSED}: {address} is not under an address the operator allows "
            f"(--prometheus-allowed-url: {allowed})"
        )
    if spec.auth is not None and urlsplit(address).scheme != "https":
        return (
            f"{Reason.PROMETHEUS_REFUSED}: credentials are sent only over https, and the address is "
            f"{address}; use an https:// address"
        )
    if spec.insecure_skip_verify and not policy.allow_insecure:
        return (
            f"{Reason.PROMETHEUS_REFUSED}: insecureSkipVerify is refused unless the operator runs with "
            "--allow-insecure-prometheus; name the CA in caSecret instead"
        )
    return forbidden_destination(address, policy)


def forbidden_destination(
    address: str,
    policy: PrometheusPolicy,
    reason: Reason = Reason.PROMETHEUS_REFUSED,
    shown: str | None = None,
) -> str | None:
    """Why `address` is never called (link-local, cloud metadata), or None. The same rule holds
    for every address a spec makes the operator call (notification receivers too); `shown` is
    how the address appears in the message (a webhook URL is itself a secret)."""
    try:
        host = (urlsplit(address).hostname or "").rstrip(".").lower()
    except ValueError:
        return None  # the client reports an unparsable address as it is
    said = f"{reason}: {shown or address} is a link-local or cloud metadata address"
    if host in METADATA_HOSTS:
        return said
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        for found in policy.resolve(host):
            resolved = ipaddress.ip_address(found.split("%", 1)[0])  # without an IPv6 zone
            if _forbidden(resolved):
                return f"{said}: {host} resolves to {resolved}"
        return None
    return said if _forbidden(literal) else None


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address in METADATA_ADDRESSES
