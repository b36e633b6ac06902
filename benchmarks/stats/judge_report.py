"""Markdown for the full-judge benchmark: per cell and scenario, ours beside the references."""

from __future__ import annotations

from typing import Any

from .judge_run import MSPRT, OURS, SPRT


def _count(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1_000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}"


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "n/a"
    return (
        f"{100 * result['rollback_rate']:.1f}%; mean {_count(result['mean_requests'])};"
        f" median look {result['median_look']:g}"
    )


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "**no**")


def markdown(results: dict[str, Any], command: str) -> str:
    settings = results["settings"]
    lines = [
        "### Full judge: rollouts with both metrics, Holm, minSamples",
        "",
        f"Command: `{command}` ({results['seconds']:.0f} s). {settings['runs']} runs per cell and scenario,"
        f" looks every {settings['interval_seconds']} s, alpha {settings['alpha']}, minSamples"
        f" {settings['min_samples']}, margins latency +{100 * settings['latency_margin_relative']:g}% and"
        f" errors +{100 * settings['error_margin_absolute']:g} pp. Rollback rate; mean candidate"
        " requests E[min(N, end of rollout)]; median look of the rollback (the last look if none).",
        "",
    ]
    for mode in ("carried", "per step"):
        lines += [
            f"#### Evidence {mode}"
            + (" (across the rollout's steps)" if mode == "carried" else " (restarted at every step)"),
            "",
            "| cell | scenario | ours (full judge) | ours, latency alone | ours, errors alone | known-effect SPRT | tuned mSPRT (scale) |",
            "|---|---|---|---|---|---|---|",
        ]
        for cell in results["cells"]:
            for name, scenario in cell["scenarios"].items():
                methods = scenario["modes"][mode]
                tuned = methods.get(MSPRT)
                tuned_text = (
                    "n/a" if tuned is None else f"{_cell(tuned)} ({tuned['mixing_scale_per_true_excess']:g}x)"
                )
                lines.append(
                    f"| {cell['cell']} | {name} | {_cell(methods[OURS])} | {_cell(methods['ours, latency alone'])}"
                    f" | {_cell(methods['ours, errors alone'])} | {_cell(methods.get(SPRT))} | {tuned_text} |"
                )
        lines.append("")
    lines += [
        "#### Targets (evidence carried)",
        "",
        "| cell | scenario | false rollback <= 5% | ours / SPRT (mean req) | ours / tuned mSPRT | SPRT median look | speed rule | speed met | power >= 99% where the SPRT has it by 2/3 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    met = total = 0
    for cell in results["cells"]:
        for name, scenario in cell["scenarios"].items():
            target = scenario["targets"]
            checks = [target[k] for k in ("false_rollback_ok", "speed_ok", "power_ok") if k in target]
            met += sum(checks)
            total += len(checks)
            if scenario["beyond_margin"]:
                lines.append(
                    f"| {cell['cell']} | {name} | - | {target['ours_per_sprt']:.2f} | {target['ours_per_msprt']:.2f}"
                    f" | {target['sprt_median_look']:g} | {target['speed_rule']} | {_yes(target['speed_ok'])}"
                    f" | {_yes(target.get('power_ok'))} |"
                )
            else:
                lines.append(
                    f"| {cell['cell']} | {name} | {_yes(target['false_rollback_ok'])} | - | - | - | - | - | - |"
                )
    lines += ["", f"Targets met: {met} of {total} checks.", ""]
    return "\n".join(lines)
