"""The benchmark's markdown: the tables `benchmarks/README.md` quotes."""

from __future__ import annotations

from typing import Any

from .arms import OPERATOR


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.1f}%"


def _arms(results: dict[str, Any]) -> list[str]:
    arms = results["arms"]
    rule = arms["operator_settings"]
    lines = [
        f"### Bandit: {arms['runs']} seeded runs of {arms['intervals']} intervals x "
        f"{arms['requests_per_interval']:,} requests, starting at 50/50",
        "",
        f"Operator: stop at P(best) >= {rule['stop_probability']}, {rule['min_feedback']:g} rewards received per "
        f"arm first, stable floor {rule['stable_floor']:g}%, step {rule['max_step']:g} points; after a "
        "stop the winner gets every request. Regret: rewards lost against the true best rate.",
        "",
        "| scenario | policy | regret mean | p50 | p90 | p99 | best arm found | stopped | wrong stop "
        "| requests at stop p50 / p90 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, cell in arms["scenarios"].items():
        for policy, row in cell["policies"].items():
            stops = policy == OPERATOR
            lines.append(
                f"| {scenario} | {policy} | {_number(row['regret_mean'], 1)} | {_number(row['regret_p50'], 1)} "
                f"| {_number(row['regret_p90'], 1)} | {_number(row['regret_p99'], 1)} "
                f"| {_percent(row['best_found'])} | {_percent(row['stop_rate']) if stops else '-'} "
                f"| {_percent(row['wrong_stops']) if stops else '-'} "
                f"| {_number(row['stop_requests_p50']) + ' / ' + _number(row['stop_requests_p90']) if stops else '-'} |"
            )
    lines += [
        "",
        "The operator's own regret estimate (posterior expectation, at its last decision) against the "
        "true regret at that moment, mean over runs:",
        "",
        "| scenario | estimated | true |",
        "|---|---:|---:|",
    ]
    for scenario, cell in arms["scenarios"].items():
        row = cell["policies"][OPERATOR]
        lines.append(
            f"| {scenario} | {_number(row['expected_regret_mean'], 1)} | {_number(row['regret_at_decision_mean'], 1)} |"
        )
    return lines


def _stop_rules(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "What the stop rule trades (the operator's policy, same runs and streams):",
        "",
        "| stop at P(best) | min feedback per arm | A/A: stopped | 5% vs 6%: wrong stop | regret mean "
        "| requests at stop p50 / p90 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["stop_rules"]:
        equal, hard = row["A/A 5% vs 5%"], row["5% vs 6%"]
        lines.append(
            f"| {row['stop_probability']} | {row['min_feedback']:,.0f} | {_percent(equal['stop_rate'])} "
            f"| {_percent(hard['wrong_stops'])} | {_number(hard['regret_mean'], 1)} "
            f"| {_number(hard['stop_requests_p50'])} / {_number(hard['stop_requests_p90'])} |"
        )
    return lines


def _interleaving(results: dict[str, Any]) -> list[str]:
    block = results["interleaving"]
    lines = [
        "",
        f"### Interleaving: {block['runs']:,} runs of {block['looks']} looks, ties {_percent(block['tie_rate'])}, "
        f"alpha {block['alpha']}",
        "",
        "Win share: the candidate's share of non-tied impressions (0.5 = A/A). Decided: any decision "
        "over all looks (under A/A every decision is false); Fail: decisions for the wrong version.",
        "",
        "| impressions / interval | win share | ours: decided | ours: wrong way | ours: impressions p50 "
        "| z-test every look: decided | wrong way |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in block["cells"].values():
        ours, naive = cell["ours"], cell["naive"]
        wrong = "decided" if cell["share"] == 0.5 else "fail"
        lines.append(
            f"| {cell['impressions_per_interval']:,} | {cell['share']} | {_percent(ours['decided'])} "
            f"| {_percent(ours[wrong] if cell['share'] != 0.5 else None)} | {_number(ours['impressions_p50'])} "
            f"| {_percent(naive['decided'])} | {_percent(naive[wrong] if cell['share'] != 0.5 else None)} |"
        )
    return lines


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        "## Bandit and interleaving (issue 27)",
        "",
        f"`{command}`, {results['wall_seconds']:.0f} s.",
        "",
        *_arms(results),
        *_stop_rules(results),
        *_interleaving(results),
        "",
    ]
    return "\n".join(lines)
