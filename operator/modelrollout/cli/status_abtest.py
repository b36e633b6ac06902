"""The A/B test block of `kubectl modelrollout status`: the split, the goal's effect and interval,
its verdict and how far the test has come (`status.abTest`)."""

from __future__ import annotations

from typing import Any

__all__ = ["ab_test_lines", "shown_value"]


def shown_value(value: Any) -> str:
    """A number as status blocks show it: four significant digits, `-` for none."""
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def ab_test_lines(ab_test: dict[str, Any] | None) -> list[str]:
    """Nothing for a rollout that is not an A/B test."""
    if not ab_test:
        return []
    low, high = ab_test.get("intervalLow"), ab_test.get("intervalHigh")
    interval = f"[{shown_value(low)}, {shown_value(high)}]" if low is not None or high is not None else "-"
    samples = f"{shown_value(ab_test.get('samplesStable'))}/{shown_value(ab_test.get('samplesCandidate'))}"
    serves = f"at {ab_test.get('split')}%" if ab_test.get("split") is not None else "on a segment"
    lines = [
        f"A/B test:    {ab_test.get('decision', '-')} (candidate {serves}, "
        f"{int(ab_test.get('intervals') or 0)} intervals, ends by {ab_test.get('endsAt') or '-'})",
        f"  goal {ab_test.get('goal')}: {ab_test.get('verdict') or '-'}, stable {shown_value(ab_test.get('stable'))}, "
        f"candidate {shown_value(ab_test.get('candidate'))}, effect {shown_value(ab_test.get('effect'))} {interval}, "
        f"e-value {shown_value(ab_test.get('eValue'))}, samples {samples}",
    ]
    if ab_test.get("message"):
        lines.append(f"  {ab_test['message']}")
    return [*lines, ""]
