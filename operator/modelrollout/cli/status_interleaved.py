"""The interleaving block of `kubectl modelrollout status`: the rankings merged, the wins per
side, the win share's interval and the evidence, and the decision (`status.interleaved`)."""

from __future__ import annotations

from typing import Any

from .status_abtest import shown_value

__all__ = ["interleaved_lines"]


def interleaved_lines(status: dict[str, Any]) -> list[str]:
    """Nothing for a rollout that is not an interleaving experiment."""
    shown = status.get("interleaved")
    if not shown:
        return []
    merging = ((status.get("routes") or {}).get("interleaving")) or {}
    versions = merging.get("versions") or []
    merged = (
        f"{' and '.join(versions)} merged, {merging.get('length')} items of {merging.get('listField')}, "
        if versions
        else "not merging, "
    )
    low, high = shown.get("intervalLow"), shown.get("intervalHigh")
    interval = f" [{shown_value(low)}, {shown_value(high)}]" if low is not None or high is not None else ""
    lines = [
        f"Interleaved: {shown.get('decision', '-')} ({merged}{int(shown.get('intervals') or 0)} intervals, "
        f"ends by {shown.get('endsAt') or '-'})",
        f"  {shown.get('impressions', 0)} impressions: candidate won {shown.get('candidateWins', 0)}, "
        f"stable {shown.get('stableWins', 0)}, ties {shown.get('ties', 0)}; win share "
        f"{shown_value(shown.get('winShare'))}{interval}, e-value {shown_value(shown.get('eValue'))}",
    ]
    if shown.get("message"):
        lines.append(f"  {shown['message']}")
    return [*lines, ""]
