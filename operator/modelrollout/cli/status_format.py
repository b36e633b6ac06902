"""The text of `kubectl modelrollout status`: pure, from the ModelRollout, its Events and its
Deployments as the apiserver returns them (plain dicts), so it is tested without a cluster.

Weights are shown three ways because they differ while capacity moves: what the current step
asks for (`requested`), what the operator last set (`set`, `status.weights`), and what serves
(`serving`: ready pods per version, which is how the Service's endpoints split the traffic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..api.v1alpha1 import as_percent, format_percent
from . import bluegreen_format
from .common import Obj, event_time, status_of
from .status_abtest import ab_test_lines
from .status_bandit import bandit_lines
from .status_interleaved import interleaved_lines
from .status_routes import route_lines, route_step
from .status_shadow import shadow_lines
from .status_sticky import sticky_lines
from .table import age, render

EVENTS_SHOWN = 10
"""The most recent Events `status` prints."""
VERSION_LABEL = "modelrollout.io/version"
MESSAGE_WIDTH = 120
"""Condition and Event messages are cut here in the tables (`-o yaml` has them whole)."""
_BACK = ("RollingBack", "RolledBack")


def render_status(
    rollout: Obj, events: Sequence[Obj], deployments: Sequence[Obj] | None, now: datetime
) -> str:
    """`deployments` None: they could not be read."""
    metadata: dict[str, Any] = rollout.get("metadata") or {}
    status = status_of(rollout)
    phase = status.get("phase", "Pending")
    paused = status.get("pausedReason")
    lines = [
        f"Name:        {metadata.get('name', '')}",
        f"Namespace:   {metadata.get('namespace', '')}",
        f"Phase:       {phase}" + (f" ({paused})" if paused else ""),
        f"Message:     {status.get('message') or '-'}",
        f"Stable:      {status.get('stableVersion') or '-'}",
        f"Candidate:   {status.get('candidateVersion') or '-'}",
        "Weights:",
        f"  requested  {requested_weight(rollout)}",
        f"  set        {_weights(status.get('weights') or {})}",
        f"  serving    {serving_weights(deployments)}",
        *route_lines(status),
        *sticky_lines(rollout),
        "",
        "Steps:",
        *step_lines(rollout),
        "",
        *analysis_lines(status.get("analysis")),
        "",
        *ab_test_lines(status.get("abTest")),
        *interleaved_lines(status),
        *shadow_lines(status.get("shadow")),
        *bandit_lines(status.get("bandit")),
        "Conditions:",
        *_indent(condition_table(status.get("conditions") or [])),
    ]
    action = status.get("lastAction")
    if action:
        lines += ["", f"Last action: {action.get('verb')}:{action.get('nonce')} at {action.get('at')}: "
                      f"{action.get('result', '')}"]  # fmt: skip
    lines += ["", "Events:", *_indent(event_table(events, now))]
    return "\n".join(lines)


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()]


def _weights(weights: dict[str, Any]) -> str:
    if not weights:
        return "-"
    return ", ".join(
        f"{version} {format_percent(as_percent(weight))}%" for version, weight in weights.items()
    )


def _steps(rollout: Obj) -> list[dict[str, Any]]:
    canary = (((rollout.get("spec") or {}).get("strategy") or {}).get("canary")) or {}
    return list(canary.get("steps") or [])


def requested_weight(rollout: Obj) -> str:
    """The candidate weight the steps ask for at the current step: the last `setWeight` at or
    before it (0 before the first); 100% once every step is done. A BlueGreen rollout's: 0 or 100."""
    if bluegreen_format.is_blue_green(rollout):
        return bluegreen_format.requested_weight(rollout)
    status = status_of(rollout)
    current = status.get("currentStep")
    candidate = status.get("candidateVersion")
    if current is None or candidate is None:
        return "-"
    if status.get("phase") in _BACK:
        return f"{candidate} 0% (rolled back)"
    steps = _steps(rollout)
    if current >= len(steps):
        return f"{candidate} 100% (all steps done)"
    weight, source = 0, "no setWeight step yet"
    for index, step in enumerate(steps[: current + 1]):
        if step.get("setWeight") is not None:
            weight, source = step["setWeight"], f"step {index + 1}"
    return f"{candidate} {format_percent(as_percent(weight))}% ({source})"


def serving_weights(deployments: Sequence[Obj] | None) -> str:
    """Each version's share of the ready pods, which is how the Service's endpoints split the
    requests."""
    if deployments is None:
        return "unknown (the Deployments could not be read)"
    ready: dict[str, int] = {}
    for deployment in deployments:
        labels = ((deployment.get("metadata") or {}).get("labels")) or {}
        version = labels.get(VERSION_LABEL)
        if version is not None:
            count = int((deployment.get("status") or {}).get("readyReplicas") or 0)
            ready[version] = ready.get(version, 0) + count
    total = sum(ready.values())
    if total == 0:
        return "- (no ready pods)"
    return ", ".join(
        f"{version} {round(100 * count / total)}% ({count} ready)" for version, count in sorted(ready.items())
    )


def describe_step(step: dict[str, Any]) -> str:
    if step.get("setWeight") is not None:
        return f"setWeight {step['setWeight']}"
    if "pause" in step:
        duration = (step.get("pause") or {}).get("duration")
        return f"pause {duration}" if duration else "pause (until resumed or promoted)"
    if "analysis" in step:
        analysis = step.get("analysis") or {}
        metrics = analysis.get("metrics")
        detail = [f"metrics {', '.join(metrics)}"] if metrics else []
        if analysis.get("maxDuration"):
            detail.append(f"maxDuration {analysis['maxDuration']}")
        return "analysis" + (f" ({'; '.join(detail)})" if detail else "")
    return route_step(step) or "(unknown step)"


def step_lines(rollout: Obj) -> list[str]:
    """Every step, the current one marked with `=>` (`✗` where a rollback stopped it), finished
    ones with a tick. A BlueGreen rollout's stages take their place."""
    if bluegreen_format.is_blue_green(rollout):
        return bluegreen_format.stage_lines(rollout)
    status = status_of(rollout)
    current = status.get("currentStep")
    rolling = status.get("candidateVersion") is not None and current is not None
    lines = []
    for index, step in enumerate(_steps(rollout)):
        mark = "  "
        if rolling and index == current:
            mark = "✗ " if status.get("phase") in _BACK else "=>"
        elif rolling and current is not None and index < current:
            mark = "✓ "
        lines.append(f"  {mark} {index + 1}. {describe_step(step)}")
    return lines


def number(value: float | None, digits: int = 4) -> str:
    """Compact: `0.0123`, `1.2e-05`, `inf`; `-` for none."""
    if value is None:
        return "-"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}g}"
    return f"{value:.{digits}g}"


def metric_row(metric: dict[str, Any]) -> list[str]:
    low, high = metric.get("intervalLow"), metric.get("intervalHigh")
    interval = f"[{number(low)}, {number(high)}]" if low is not None or high is not None else "-"
    verdict = str(metric.get("verdict", "-")) + (" (dry run)" if metric.get("dryRun") else "")
    if metric.get("configurationError"):
        verdict += f" ({metric['configurationError']})"
    samples = f"{metric.get('samplesStable', '-')}/{metric.get('samplesCandidate', '-')}"
    return [
        str(metric.get("name", "")), verdict, number(metric.get("stable")), number(metric.get("candidate")),
        number(metric.get("effect")), interval, number(metric.get("eValue")), number(metric.get("pValue")),
        samples,
    ]  # fmt: skip


def analysis_lines(analysis: dict[str, Any] | None) -> list[str]:
    if not analysis:
        return ["Analysis:    none yet"]
    verdict = analysis.get("verdict") or "-"
    runs = int(analysis.get("runs") or 0)
    facts = [f"{runs} interval" + ("" if runs == 1 else "s")]
    spanned = int(analysis.get("evidenceIntervals") or 0)
    if spanned > runs and analysis.get("evidenceStartedAt"):
        facts.append(f"evidence over {spanned} intervals since {analysis['evidenceStartedAt']}")
    if analysis.get("score") is not None:
        facts.append(f"score {number(analysis['score'], 3)}")
    if analysis.get("lastRun"):
        facts.append(f"last run {analysis['lastRun']}")
    lines = [f"Analysis:    {verdict} ({', '.join(facts)})"]
    metrics = analysis.get("metrics") or []
    summary = _without_explanations(str(analysis.get("message") or ""), metrics)
    if summary:
        lines.append(f"  {summary}")
    if metrics:
        header = ["METRIC", "VERDICT", "STABLE", "CANDIDATE", "EFFECT", "INTERVAL", "E-VALUE", "P-VALUE",
                  "SAMPLES S/C"]  # fmt: skip
        lines += _indent(render(header, [metric_row(m) for m in metrics]))
        lines += [f"  {m.get('name')}: {m['explanation']}" for m in metrics if m.get("explanation")]
    return lines


def _without_explanations(message: str, metrics: Sequence[dict[str, Any]]) -> str:
    """The analysis message less each metric's explanation, which the metric lines print."""
    for metric in metrics:
        if metric.get("explanation"):
            message = message.replace(f"{metric.get('name')}: {metric['explanation']}", "")
    return " ".join(message.split())


def _cut(message: str) -> str:
    return message if len(message) <= MESSAGE_WIDTH else message[: MESSAGE_WIDTH - 3] + "..."


def condition_table(conditions: Sequence[dict[str, Any]]) -> str:
    if not conditions:
        return "<none>"
    rows = [
        [c.get("type", ""), c.get("status", ""), c.get("reason", ""), _cut(c.get("message", ""))]
        for c in conditions
    ]
    return render(["TYPE", "STATUS", "REASON", "MESSAGE"], rows)


def event_table(events: Sequence[Obj], now: datetime) -> str:
    if not events:
        return "<none>"
    recent = list(events)[-EVENTS_SHOWN:]
    rows = [
        [age(event_time(e), now), e.get("type", ""), e.get("reason", ""), _cut(e.get("message", ""))]
        for e in recent
    ]
    return render(["AGE", "TYPE", "REASON", "MESSAGE"], rows)
