"""RFC 3339 times as status holds them, aware UTC datetimes in code: one conversion each way.

Status is written by the operator but may be edited by hand, so reading never fails the
reconcile; writing refuses a naive datetime, since guessing its zone would silently reorder
windows, history and lineage.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_timestamp", "parse_timestamp", "utc"]


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; ValueError for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment!r} has no time zone")
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime, *, whole_seconds: bool = False) -> str:
    """UTC with a `Z`, as Kubernetes writes times. Full precision by default: a stored
    `lastRun` is compared with the next observation's time, and rounding it down would make the
    same observation look new; `whole_seconds` for metav1.Time fields (condition times)."""
    moment = utc(moment)
    if whole_seconds:
        moment = moment.replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str | None) -> datetime | None:
    """None for an absent or unreadable time; a time without a zone is read as UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
