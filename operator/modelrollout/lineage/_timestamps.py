"""RFC 3339 strings in status, aware datetimes in the API: one conversion each way."""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime.min.replace(tzinfo=UTC)
"""Where an entry without a (readable) timestamp sorts: before everything that has one."""


def format_timestamp(moment: datetime) -> str:
    """UTC with a `Z`, as Kubernetes writes times; a naive datetime is refused because guessing
    its zone would silently reorder the lineage."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment!r} has no time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str | None) -> datetime:
    """Status may have been edited by hand: an absent or unreadable time sorts first instead of
    failing the reconcile."""
    if not text:
        return EARLIEST
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return EARLIEST
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
