"""`python -m modelrollout_dev.chart [--check]` (`make manifests`): what is derived from the chart.

`manifests/install.yaml` is the chart rendered with its defaults, for users without helm, and the
chart's copy of the CRD is `crds/modelrollout.io_modelrollouts.yaml` (a chart can only read files
inside itself). Both are committed; `--check` (run by `make lint`) fails when either is stale, so
the chart stays the one source of the install.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from modelrollout.api.v1alpha1 import is_stale

from .tools import ToolPaths, cache_dir, repo_root

CHART = Path("charts/modelrollout-operator")
CRD = Path("crds/modelrollout.io_modelrollouts.yaml")
CHART_CRD = CHART / "files" / CRD.name
INSTALL = Path("manifests/install.yaml")
RELEASE = "modelrollout-operator"
NAMESPACE = "modelrollout-system"
PROMETHEUS_OPERATOR_VERSION = "v0.86.1"
"""Whose ServiceMonitor and PrometheusRule CRDs the tests apply (hack/build-tools.sh fetches them)."""


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the project's pinned helm; a missing binary names the script that builds it."""
    binary = ToolPaths.from_cache().helm
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: run `make tools` (hack/build-tools.sh builds helm)")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=check)


def prometheus_operator_crds() -> list[Path]:
    """The ServiceMonitor and PrometheusRule CRDs from prometheus-operator's Go module, as cached
    by hack/build-tools.sh, so the chart's monitoring objects meet the real schemas."""
    directory = cache_dir() / f"prometheus-operator-crds-{PROMETHEUS_OPERATOR_VERSION}"
    files = [
        directory / f"monitoring.coreos.com_{kind}.yaml" for kind in ("servicemonitors", "prometheusrules")
    ]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing: run `make tools` (hack/build-tools.sh)")
    return files


def install_yaml() -> str:
    rendered = helm(
        "template", RELEASE, str(repo_root() / CHART), "--namespace", NAMESPACE,
        "--set", f"fullnameOverride={RELEASE}",
    ).stdout  # fmt: skip
    return (
        "# Generated from charts/modelrollout-operator by `make manifests`; do not edit.\n"
        "# The chart with its default values, for clusters without helm:\n"
        "#   kubectl apply --server-side -f manifests/install.yaml\n"
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n"
        "  labels:\n    pod-security.kubernetes.io/enforce: restricted\n" + rendered
    )


def derived() -> dict[Path, str]:
    """Each derived file and the text it should hold."""
    root = repo_root()
    return {CHART_CRD: (root / CRD).read_text(), INSTALL: install_yaml()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.chart", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a derived file is stale")
    args = parser.parse_args(argv)
    root = repo_root()
    stale = 0
    for path, text in derived().items():  # the CRD copy first: the render reads it
        target = root / path
        if args.check:
            stale += is_stale(target, text, "make manifests")
            continue
        current = target.read_text() if target.exists() else ""
        if current != text:
            target.write_text(text)
            if path == CHART_CRD:  # install.yaml embeds the CRD: render it again from the new copy
                return main(argv)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
