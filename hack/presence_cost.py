"""What a tick's presence queries cost a real Prometheus: asked over the whole day for the whole
fleet (as before), or in two steps (`metrics.presence`), side by side on one Prometheus.

    PYTHONPATH=operator:. python hack/presence_cost.py [models] [minutes of data] [rounds]

One synthetic exporter (`benchmarks/scale`) serves both versions of every model, scraped every 5 s
by Prometheus (Debian's) for the given minutes; then each round asks, for every model, whether the
latency buckets, the requests and the errors exist, once the old way and once the new, through a
real `PrometheusSource`. Reported per tick: the samples Prometheus loaded for the texts sent (its
own `stats=all` count, asked again for each text) and the wall time of the tick's presence
queries, the median over the rounds. A day of data holds 17,280 scrapes at 5 s: the old way's
samples grow with the minutes all day (Prometheus decodes them all; its `--query.max-samples`
bounds only those held at once), the new way's stay those of the last two intervals.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from benchmarks.scale.exporter import SyntheticExporter

from modelrollout.metrics import BatchedQuerier, InstantQuery, Presence, PrometheusSource, Selection
from modelrollout.metrics import queries as defaults
from modelrollout_dev import PrometheusServer, PrometheusSettings

INTERVAL = 30.0
SERIES = (
    f"{defaults.LATENCY_METRIC}_bucket",
    defaults.REQUESTS_METRIC,
    defaults.error_series(defaults.REQUESTS_METRIC),
)


class Recording(PrometheusSource):
    """The source, noting each instant query's text."""

    sent: list[str]

    def query(self, promql: str, at: datetime) -> list:  # type: ignore[type-arg]
        self.sent.append(promql)
        return super().query(promql, at)


def selections(models: list[str], at: datetime, two_steps: bool) -> list[Selection]:
    wanted: list[Selection] = []
    for series in SERIES:
        presence = Presence(series, recent=2 * INTERVAL) if two_steps else None
        query = InstantQuery(defaults.series_presence(series), at, presence=presence)
        wanted += [(query, (("model", m), ("namespace", "bench"))) for m in models]
    return wanted


def samples(url: str, promql: str, at: datetime) -> int:
    params = urllib.parse.urlencode({"query": promql, "time": at.timestamp(), "stats": "all"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}") as answer:
        body = json.load(answer)
    return int(body["data"]["stats"]["samples"]["totalQueryableSamples"])


def tick(source: Recording, models: list[str], two_steps: bool) -> tuple[float, int, int]:
    at = datetime.fromtimestamp(time.time() // INTERVAL * INTERVAL, tz=UTC)
    source.sent = []
    started = time.perf_counter()
    outcomes = BatchedQuerier(source).select(selections(models, at, two_steps))
    wall = time.perf_counter() - started
    found = sum(1 for outcome in outcomes.values() if outcome)
    return wall, sum(samples(source.address, text, at) for text in source.sent), found


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    models = [f"m{i}" for i in range(count)]
    exporter = SyntheticExporter("bench", models).start()
    prometheus = PrometheusServer(PrometheusSettings(scrape_interval="5s"), targets=[exporter.target]).start()
    try:
        time.sleep(minutes * 60)
        source = Recording(prometheus.url, timeout=60.0)
        modes = {"whole day, whole fleet": False, "two steps": True}
        runs: dict[str, list[tuple[float, int, int]]] = {name: [] for name in modes}
        for _ in range(rounds):  # alternating, so both see the same machine
            for name, two_steps in modes.items():
                runs[name].append(tick(source, models, two_steps))
        report: dict[str, dict[str, float]] = {}
        for name in modes:
            report[name] = {
                "wall_seconds_median": statistics.median(r[0] for r in runs[name]),
                "samples_loaded": runs[name][-1][1],
                "found": runs[name][-1][2],
            }
        print(
            json.dumps(
                {"models": count, "minutes_of_data": minutes, "series": exporter.series, **report}, indent=2
            )
        )
    finally:
        prometheus.stop(remove=True)
        exporter.stop()


if __name__ == "__main__":
    main()
