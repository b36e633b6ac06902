"""`kubectl modelrollout plot NAME`: a PNG of each version's latency, error rate and drift over
the rollout (plot_data.py says what is queried), the Events marked as vertical lines and the
verdict in the title. Needs the `plot` extra (matplotlib), drawn with the Agg backend so no
display is needed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..api.v1alpha1 import PrometheusSpec
from ..metrics import new_metric_source
from . import kube
from .common import EXIT_OK, CliError, add_cluster_options
from .plot_data import PlotData, fetch

_VERDICT_EVENTS = {
    "Promoted",
    "PromotedManually",
    "RolledBack",
    "Aborted",
    "AnalysisPassed",
    "AnalysisFailed",
}
_COLOURS = {"Promoted": "green", "PromotedManually": "green", "AnalysisPassed": "green",
            "RolledBack": "red", "Aborted": "red", "AnalysisFailed": "red"}  # fmt: skip


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "plot", help="a PNG of each version's latency, errors and drift over the rollout"
    )
    parser.add_argument("name", help="the ModelRollout")
    parser.add_argument("-f", "--file", type=Path, help="where to write the PNG (default: NAME.png)")
    parser.add_argument(
        "--prometheus", help="Prometheus URL (default: spec.analysis.prometheus.address), e.g. a port-forward"
    )
    add_cluster_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cluster = kube.connect(args)
    rollout = cluster.get(args.name)
    prometheus = ((rollout.get("spec") or {}).get("analysis") or {}).get("prometheus")
    if prometheus is None and args.prometheus is None:
        raise CliError(
            f"modelrollout {args.name!r} names no Prometheus (spec.analysis.prometheus); pass --prometheus"
        )
    spec = PrometheusSpec.model_validate(prometheus) if prometheus else None
    source = new_metric_source(spec, address=args.prometheus)
    data = fetch(source, rollout, cluster.events(args.name), datetime.now(UTC))
    path: Path = args.file or Path(f"{args.name}.png")
    draw(data, f"{cluster.namespace}/{args.name}", path)
    print(f"wrote {path}")
    return EXIT_OK


def draw(data: PlotData, title: str, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError("plot needs matplotlib: pip install 'modelrollout[plot]'") from None
    figure, axes = plt.subplots(len(data.panels), 1, figsize=(10, 2.6 * len(data.panels) + 0.8), sharex=True)
    for axis, (panel, lines) in zip(axes, data.panels, strict=True):
        for version, points in lines.items():
            axis.plot([_time(t) for t, _ in points], [v for _, v in points], label=version, linewidth=1.4)
        axis.set_title(panel.title, fontsize=10, loc="left")
        axis.set_ylabel(panel.unit, fontsize=8)
        axis.grid(alpha=0.3)
        _mark(axis, data.markers)
        if lines:
            axis.legend(loc="upper left", fontsize=8, title="version", title_fontsize=8)
        else:
            axis.text(0.5, 0.5, "no data", transform=axis.transAxes, ha="center", color="grey")
    axes[-1].set_xlim(data.start, data.end)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))  # type: ignore[no-untyped-call]
    axes[-1].set_xlabel("time (UTC)")
    figure.suptitle(f"{title}: {data.verdict}", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _mark(axis: Any, markers: list[tuple[float, str]]) -> None:
    """A dotted line per Event, labelled with its reason; verdict Events drawn bold in their colour."""
    for seconds, reasons in markers:
        named = reasons.split(", ")
        verdict = any(reason in _VERDICT_EVENTS for reason in named)
        colour = next((_COLOURS[reason] for reason in named if reason in _COLOURS), "grey")
        axis.axvline(
            _time(seconds), color=colour, linestyle="-" if verdict else ":", linewidth=2 if verdict else 1
        )
        axis.text(_time(seconds), 0.98, f" {reasons}", transform=axis.get_xaxis_transform(), rotation=90,
                  va="top", ha="left", fontsize=6, color=colour)  # fmt: skip
