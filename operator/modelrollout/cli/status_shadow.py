"""The Shadow block of `kubectl modelrollout status`: the share of requests copied, the agreement
and score difference with their intervals and verdicts, and how far the comparison has come
(`status.shadow`)."""

from __future__ import annotations

from typing import Any

__all__ = ["shadow_lines"]


def _value(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _measure(shadow: dict[str, Any], key: str) -> str:
    low, high = shadow.get(f"{key}Low"), shadow.get(f"{key}High")
    interval = f" [{_value(low)}, {_value(high)}]" if low is not None or high is not None else ""
    return f"{_value(shadow.get(key))}{interval} {shadow.get(f'{key}Verdict') or '-'}"


def shadow_lines(shadow: dict[str, Any] | None) -> list[str]:
    """Nothing for a rollout that is not a Shadow rollout."""
    if not shadow:
        return []
    lines = [
        f"Shadow:      {shadow.get('decision', '-')} ({shadow.get('percentage')}% of requests copied, "
        f"{int(shadow.get('intervals') or 0)} intervals, ends by {shadow.get('endsAt') or '-'})",
        f"  agreement {_measure(shadow, 'agreement')} over {_value(shadow.get('compared'))} requests; "
        f"score difference {_measure(shadow, 'scoreDifference')} over {_value(shadow.get('scoresCompared'))} scores",
    ]
    return [*lines, ""]
