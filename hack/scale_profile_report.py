"""Reads what `hack/scale_profile.py` dumped: memory per rollout (RSS, malloc, the Python heap and
its growth by allocation site between N and 2N) and the CPU profile of the steady intervals.

    python hack/scale_profile_report.py OUTDIR [N] [--group lineno|filename|traceback] [--top 30]
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("n", type=int, nargs="?", default=150)
    parser.add_argument("--group", default="lineno")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--intervals", type=int, default=2)
    parser.add_argument("--interval", type=float, default=30.0)
    args = parser.parse_args()
    out: Path = args.out
    n = args.n
    dumps = {
        name: json.loads((out / f"{name}.json").read_text())
        for name in ("idle", "n-settled", "n-steady", "2n-settled", "2n-steady")
        if (out / f"{name}.json").exists()
    }
    print(
        "dump         rss_kb  anon  traced  peak  arena+mmap  in_use  free  gc_objects  threads  trimmed_rss  obmalloc"
    )
    for name, d in dumps.items():
        m = d["mallinfo"]
        print(
            f"{name:11s} {d['rss_kb']:7d} {d['smaps'].get('Anonymous', 0):6d} {d.get('traced_kb', 0):7d} "
            f"{d.get('traced_peak_kb', 0):5d} "
            f"{(m['arena'] + m['hblkhd']) // 1024:10d} {m['uordblks'] // 1024:7d} {m['fordblks'] // 1024:5d} "
            f"{d['gc_objects']:10d} {d['threads']:7d}  {d.get('rss_after_trim_kb', '')}  {d.get('obmalloc', '')}"
        )
    if "n-steady" in dumps and "2n-steady" in dumps:
        a, b = dumps["n-steady"], dumps["2n-steady"]
        print(f"\nper rollout between N={n} and 2N (steady):")
        print(f"  RSS {(b['rss_kb'] - a['rss_kb']) / n:.1f} KB")
        print(
            f"  RSS after trim {(b.get('rss_after_trim_kb', 0) - a.get('rss_after_trim_kb', 0)) / n:.1f} KB"
        )
        print(f"  traced {(b.get('traced_kb', 0) - a.get('traced_kb', 0)) / n:.1f} KB")
        # The peak since the previous dump (the settled one) above what is held at the end: how
        # far the steady intervals' busiest moment (a tick) rises.
        for label, d, count in (("N", a, n), ("2N", b, 2 * n)):
            rise = d.get("traced_peak_kb", 0) - d.get("traced_kb", 0)
            print(f"  traced peak above held at {label}: {rise} KB, {rise / count:.1f} KB per rollout")
        print(f"  malloc in use {(b['mallinfo']['uordblks'] - a['mallinfo']['uordblks']) / 1024 / n:.1f} KB")
        print(f"  gc objects {(b['gc_objects'] - a['gc_objects']) / n:.0f}")
        print(f"  RSS above idle at 2N {(b['rss_kb'] - dumps['idle']['rss_kb']) / (2 * n):.1f} KB")
        print(f"  RSS above idle at N  {(a['rss_kb'] - dumps['idle']['rss_kb']) / n:.1f} KB")
    for name, count in (("n-steady", n), ("2n-steady", 2 * n)):
        if name not in dumps:
            continue
        profile = dumps[name]["profile"]
        per = 1000 / (count * profile["seconds"] / args.interval)
        print(
            f"\n{name}: {profile['cpu_s']:.1f} s CPU in {profile['seconds']:.0f} s: "
            f"{profile['cpu_s'] * per:.2f} ms per rollout per interval"
        )
        print("  threads:", {k: round(v * per, 2) for k, v in profile["threads_s"].items()})
        print("  own (ms per rollout per interval):")
        for where, seconds in list(profile["own_s"].items())[: args.top]:
            print(f"    {seconds * per:7.3f}  {where}")
        print("  total:")
        for where, seconds in list(profile["total_s"].items())[: args.top * 2]:
            print(f"    {seconds * per:7.3f}  {where}")
    snaps = [out / f"{name}.snap" for name in ("n-steady", "2n-steady")]
    if all(s.exists() for s in snaps):
        first, second = (tracemalloc.Snapshot.load(str(s)) for s in snaps)
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        first, second = first.filter_traces(filters), second.filter_traces(filters)
        if args.group == "traceback":
            stats = second.compare_to(first, "traceback")
        else:
            stats = second.compare_to(first, args.group)
        print(f"\ntracemalloc growth N -> 2N by {args.group} (bytes per rollout):")
        for stat in stats[: args.top]:
            lines = (
                stat.traceback.format(limit=args.frames)
                if args.group == "traceback"
                else [str(stat.traceback)]
            )
            print(
                f"  {stat.size_diff / n:9.0f}  {stat.count_diff / n:6.1f} blocks  "
                + " | ".join(line.strip() for line in lines if line.strip())
            )


if __name__ == "__main__":
    main()
