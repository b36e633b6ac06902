"""Status holds RFC 3339 strings; `decide` works with aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    """A naive `now` would make every comparison with status times a guess, so it is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment!r} has no time zone")
    return moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """Full precision: `status.analysis.lastRun` is compared with the next observation's time,
    and rounding it down would make the same observation look new."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def condition_stamp(moment: datetime) -> str:
    """metav1.Time has whole seconds."""
    return utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_stamp(text: str | None) -> datetime | None:
    """An unreadable time (a hand-edited status) counts as absent rather than failing the reconcile."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
