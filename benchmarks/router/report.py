"""The results as the markdown table of benchmarks/README.md."""

from __future__ import annotations

from typing import Any


def markdown(results: dict[str, Any], commit: str) -> str:
    lines = [
        f"Commit {commit}; {results['machine']['cpus']} CPUs, Python {results['machine']['python']}; "
        f"{results['settings']['rounds']} rounds of {results['settings']['duration']:g} s per cell (median round); "
        f"wall {results['wall_seconds']:g} s; load average {results['machine']['load_average']['before']:g} "
        f"before, {results['machine']['load_average']['after']:g} after.",
        "",
        "| connections | path | requests/s | p50 ms | p99 ms | errors | CPU us/request of the process wrk talks to |",
        "|---|---|---|---|---|---|---|",
    ]
    for connections, row in results["cells"].items():
        for path, cell in row.items():
            lines.append(
                f"| {connections} | {path} | {cell['requests_per_second']:.0f} | {cell['p50_ms']:.3f} | "
                f"{cell['p99_ms']:.3f} | {cell['errors']} | {_cpu(cell)} |"
            )
    lines += [
        "",
        "| connections | router/nginx req/s | router/direct req/s | nginx/direct req/s | router +p50 ms | nginx +p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for connections, ratio in results["ratios"].items():
        lines.append(
            f"| {connections} | {ratio['router_over_nginx_throughput']:.2f} | {ratio['router_over_direct_throughput']:.2f} | "
            f"{ratio['nginx_over_direct_throughput']:.2f} | {ratio['router_added_p50_ms']:+.3f} | {ratio['nginx_added_p50_ms']:+.3f} |"
        )
    shadow = results["shadow"]
    lines += [
        "",
        "Shadow (1 connection; stable answers in "
        f"{results['settings']['shadow_stable_latency'] * 1000:g} ms, the shadowed candidate in twice that):",
        "",
        "| path | requests/s | p50 ms | p99 ms | router CPU us/request |",
        "|---|---|---|---|---|",
    ]
    for path in ("router", "router+shadow"):
        cell = shadow[path]
        lines.append(
            f"| {path} | {cell['requests_per_second']:.0f} | {cell['p50_ms']:.3f} | {cell['p99_ms']:.3f} | {_cpu(cell)} |"
        )
    lines += [
        "",
        f"Shadow adds {shadow['added_p50_ms']:+.3f} ms at p50 (median of the p50 differences of "
        f"{shadow.get('paired_rounds', 1)} paired rounds; the table shows each path's median round).",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for target in results["targets"]:
        lines.append(f"| {target['target']} | {target['measured']} | {'yes' if target['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def _cpu(cell: dict[str, Any]) -> str:
    value = cell.get("cpu_us_per_request")
    return "-" if value is None else f"{value:.0f}"
