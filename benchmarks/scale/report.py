"""The scale results as markdown for benchmarks/README.md: one column per level, one row per
quantity the issue's targets name, then the operator's requests by verb and resource."""

from __future__ import annotations

from typing import Any


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


ROWS: list[tuple[str, Any]] = [
    ("series in Prometheus", lambda r: f"{r['series']:,}"),
    ("time from creation to every rollout in analysis", lambda r: f"{r['time_to_analysis_seconds']:.0f} s"),
    (
        "analysis status after each boundary, p50 / p99 (max)",
        lambda r: (
            f"{_number(r['latency']['p50_seconds'])} s / {_number(r['latency']['p99_seconds'])} s "
            f"({_number(r['latency']['max_seconds'])} s)"
        ),
    ),
    (
        "p99 target (10 s + the tick's query time) / the CPU bound",
        lambda r: (
            (
                f"{_number(10.0 + r['latency']['query_seconds_per_interval'])} s / "
                f"{_number(r['latency']['cpu_bound_seconds'])} s"
            )
            if "cpu_bound_seconds" in r["latency"]
            else "-"
        ),
    ),
    ("statuses skipped (not written before the next boundary)", lambda r: str(r["latency"]["skipped"])),
    (
        "operator requests per rollout per interval (audit log)",
        lambda r: _number(r["requests"]["per_rollout_per_interval"], 2),
    ),
    (
        "apiserver CPU per interval: operator / status floor (ratio)",
        lambda r: (
            f"{_number(r['apiserver']['cpu_seconds_per_interval'], 2)} s / "
            f"{_number(r['apiserver']['floor_cpu_seconds_per_interval'], 2)} s "
            f"({_number(r['apiserver']['ratio_to_floor'], 2)}x)"
        ),
    ),
    (
        "operator RSS: idle / running (per rollout)",
        lambda r: (
            f"{_number(r['operator']['rss_idle_mb'], 0)} MB / {_number(r['operator']['rss_mb'], 0)} MB "
            f"({_number(r['operator']['rss_per_rollout_kb'], 0)} KB)"
        ),
    ),
    (
        "operator CPU per rollout per interval",
        lambda r: f"{_number(r['operator']['cpu_ms_per_rollout_per_interval'], 1)} ms",
    ),
    (
        "of which the event loop",
        lambda r: f"{_number(r['operator'].get('event_loop_cpu_ms_per_rollout_per_interval'), 1)} ms",
    ),
    ("PromQL queries per interval (operator)", lambda r: _number(r["promql"]["queries_per_interval"], 1)),
    (
        "Prometheus CPU per interval: operator's queries / scrape only",
        lambda r: (
            f"{_number(r['promql']['prometheus_cpu_seconds_per_interval'], 2)} s / "
            f"{_number(r['promql']['scrape_only_cpu_seconds_per_interval'], 2)} s"
        ),
    ),
    (
        "per-rollout query mode: queries / Prometheus CPU per interval",
        lambda r: (
            f"{_number(r['promql']['per_rollout_mode']['queries_per_interval'], 0)} / "
            f"{_number(r['promql']['per_rollout_mode']['prometheus_cpu_seconds_per_interval'], 2)} s"
        ),
    ),
]


PER_ROLLOUT: list[tuple[str, Any]] = [
    ("operator CPU", lambda r: r["operator"]["cpu_ms_per_rollout_per_interval"]),
    ("operator CPU: event loop", lambda r: r["operator"].get("event_loop_cpu_ms_per_rollout_per_interval")),
    ("operator CPU: threads", lambda r: _threads_cpu(r["operator"])),
    ("operator RSS above idle", lambda r: r["operator"]["rss_per_rollout_kb"]),
    ("operator requests", lambda r: r["requests"]["per_rollout_per_interval"]),
    ("apiserver CPU", lambda r: r["apiserver"]["cpu_seconds_per_interval"] / r["rollouts"]),
    (
        "Prometheus CPU (operator's queries)",
        lambda r: r["promql"]["prometheus_cpu_seconds_per_interval"] / r["rollouts"],
    ),
]
"""What one rollout costs at each level, compared with the first level's (issue 22: within 1.2x)."""


def _threads_cpu(operator: dict[str, Any]) -> float | None:
    loop = operator.get("event_loop_cpu_ms_per_rollout_per_interval")
    return None if loop is None else operator["cpu_ms_per_rollout_per_interval"] - loop


def _baseline(levels: list[dict[str, Any]], cost: Any) -> float | None:
    """The first level's cost, averaged over every run of that level: a run that measures it
    before and after a larger one (`--levels 100,1000,100`) takes the machine's drift out."""
    first = levels[0]["rollouts"]
    costs = [cost(r) for r in levels if r["rollouts"] == first]
    known = [c for c in costs if c is not None]
    return sum(known) / len(known) if known else None


def per_rollout_rows(levels: list[dict[str, Any]]) -> list[str]:
    """A row per `PER_ROLLOUT` cost: each level's against the first level's (`_baseline`)."""
    rows = []
    for label, cost in PER_ROLLOUT:
        base = _baseline(levels, cost)
        cells = [_number(cost(r) / base, 2) + "x" if base and cost(r) is not None else "-" for r in levels]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    levels = results["levels"]
    header = "| | " + " | ".join(f"{r['rollouts']:,} rollouts" for r in levels) + " |"
    lines = [
        f"Scale benchmark ({results['command']}, operator at {results['commit']}, "
        f"{levels[0]['level']['interval']:.0f} s interval, {levels[0]['level']['intervals']} intervals per phase, "
        f"analysis.method {levels[0]['level'].get('method', 'sequential')})",
        "",
        header,
        "|---" * (len(levels) + 1) + "|",
    ]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in levels) + " |")
    if len(levels) > 1:
        lines += [
            "",
            f"Per-rollout costs against {levels[0]['rollouts']:,} rollouts (the mean of its runs; "
            "target: at most 1.2x):",
            "",
        ]
        lines += [header.replace("| |", "| per rollout |", 1), "|---" * (len(levels) + 1) + "|"]
        lines += per_rollout_rows(levels)
    lines += ["", "Operator requests per rollout per interval, by verb and resource:", ""]
    keys = sorted(
        {key for r in levels for key in r["requests"]["by_verb_resource"]},
        key=lambda key: -max(r["requests"]["by_verb_resource"].get(key, 0.0) for r in levels),
    )
    lines += [header.replace("| |", "| request |", 1), "|---" * (len(levels) + 1) + "|"]
    for key in keys:
        cells = [_number(r["requests"]["by_verb_resource"].get(key, 0.0), 2) for r in levels]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
