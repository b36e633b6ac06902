"""Plain-text tables and ages as kubectl prints them: left-aligned columns three spaces apart,
ages in the largest unit that fits (`45s`, `12m`, `3h`, `5d`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..api.v1alpha1 import parse_timestamp


def render(header: Sequence[str], rows: Sequence[Sequence[str]], minimum: Sequence[int] = ()) -> str:
    """`minimum`: column widths to keep at least, so lines printed later (`get -w`) stay under
    the header printed first."""
    widths = widths_of(header, rows, minimum)
    lines = ["   ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    return "\n".join(lines)


def widths_of(header: Sequence[str], rows: Sequence[Sequence[str]], minimum: Sequence[int] = ()) -> list[int]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [max(width, floor) for width, floor in zip(widths, [*minimum, *[0] * len(widths)], strict=False)]


def age(timestamp: str | None, now: datetime) -> str:
    """How long ago `timestamp` (RFC 3339) was; `<unknown>` without a readable one, as kubectl."""
    moment = parse_timestamp(timestamp)
    if moment is None:
        return "<unknown>"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
