"""The bandit block of `kubectl modelrollout status`: each version's posterior, P(best) and
weight, the estimated regret and the decision (`status.bandit`)."""

from __future__ import annotations

from typing import Any

__all__ = ["bandit_lines"]


def bandit_lines(bandit: dict[str, Any] | None) -> list[str]:
    """Nothing for a rollout that is not a bandit."""
    if not bandit:
        return []
    regret = bandit.get("expectedRegret")
    lines = [
        f"Bandit:      {bandit.get('decision', '-')} ({int(bandit.get('intervals') or 0)} intervals, "
        f"expected regret {f'{regret:.1f}' if regret is not None else '-'} rewards)"
    ]
    for arm in bandit.get("arms") or []:
        lines.append(
            f"  {arm['version']}: weight {arm['weight']:g}%, P(best) {arm['probabilityBest']:.3f}, "
            f"reward rate {arm['mean']:.4f} [{arm['low']:.4f}, {arm['high']:.4f}], "
            f"Beta({arm['alpha']:g}, {arm['beta']:g}), {arm['successes']:g}/{arm['rewards']:g} rewarded, "
            f"{arm['pulls']:g} pulls"
        )
    if bandit.get("message"):
        lines.append(f"  {bandit['message']}")
    return [*lines, ""]
