"""`kubectl modelrollout ...`: the real kubectl finds the plugin on PATH and runs every verb
against the real control plane and the operator, one rollout driven through all of them.

The plugin is put on PATH as its console scripts would be (`kubectl-modelrollout`,
`kubectl_complete-modelrollout`), running this checkout's code.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from modelrollout_dev.model_traffic import Behaviour

from .given import Given
from .processes import REPO
from .specs import base_spec
from .when import When

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

NAME = "fraud-scorer"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "1h"}}]


class Plugin:
    """Runs `kubectl modelrollout ...` as a user would: the real kubectl, the plugin on PATH."""

    def __init__(self, given: Given, bin_dir: Path) -> None:
        self.env = given.env
        bin_dir.mkdir()
        python = f'#!/bin/sh\nexec {sys.executable} -c "import sys; from modelrollout.cli.{{}} import {{}}; sys.exit({{}}())" "$@"\n'
        for script, module, function in [("kubectl-modelrollout", "main", "main"),
                                         ("kubectl_complete-modelrollout", "completion", "kubectl_complete")]:  # fmt: skip
            path = bin_dir / script
            path.write_text(python.format(module, function, function))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        self.environ = {
            **self.env.cluster.env,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": f"{REPO / 'operator'}{os.pathsep}{REPO}",
        }
        self.kubectl = str(self.env.cluster.tools.kubectl)

    def run(
        self, *args: str, ok: bool = True, environ: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.kubectl, "modelrollout", *args], capture_output=True, text=True, timeout=60,
            env=environ or self.environ, cwd=self.env.cluster.run_dir,
        )  # fmt: skip
        if ok:
            assert result.returncode == 0, f"kubectl modelrollout {' '.join(args)}: {result.stderr}"
        return result

    def __call__(self, *args: str) -> str:
        return self.run(*args, "-n", self.env.namespace).stdout

    def refused(self, *args: str) -> str:
        result = self.run(*args, "-n", self.env.namespace, ok=False)
        assert result.returncode == 3 and not result.stdout, result
        return result.stderr

    def watch(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.kubectl, "modelrollout", "get", NAME, "-w", "-n", self.env.namespace],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.environ,
        )  # fmt: skip


def _at(step: int, weight: int, paused: str | None = "PausedByStep") -> Any:
    return lambda s: (
        s.get("currentStep") == step
        and s.get("candidateWeight") == weight
        and s.get("pausedReason") == paused
    )


def test_every_verb_through_kubectl(given: Given, tmp_path: Path) -> None:
    plugin = Plugin(given, tmp_path / "bin")
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()}, rps=50)
    analysis = given.analysis([{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.05}])
    when = given.rollout(base_spec(given.env, steps=STEPS, analysis=analysis))
    when.wait_for_status(_at(1, 25), "paused by the step at 25%", timeout=60)
    watch = plugin.watch()

    # get as a table, as JSON, and wide across namespaces with --kubeconfig and --context
    table = plugin("get").splitlines()
    assert table[0].split() == ["NAME", "PHASE", "STABLE", "CANDIDATE", "WEIGHT", "STEP", "AGE"]
    assert table[1].split()[:6] == [NAME, "Paused", "v1", "v2", "25%", "2/4"]
    assert json.loads(plugin("get", NAME, "-o", "json"))["items"][0]["status"]["candidateWeight"] == 25
    bare = {k: v for k, v in plugin.environ.items() if k != "KUBECONFIG"}
    context = given.env.cluster.kubectl("config", "current-context").stdout.strip()
    everywhere = plugin.run(
        "get", "-A", "-o", "wide", "--kubeconfig", str(given.env.cluster.kubeconfig), "--context", context,
        environ=bare,
    ).stdout  # fmt: skip
    assert given.env.namespace in everywhere and "VERDICT" in everywhere

    # status: the current step marked, the weights three ways, conditions, Events
    status = plugin("status", NAME)
    assert "=> 2. pause (until resumed or promoted)" in status and "requested  v2 25% (step 1)" in status
    assert "serving    v1 75% (3 ready), v2 25% (1 ready)" in status
    assert "RolloutStarted" in status and "Conditions:" in status

    # an action the operator would ignore, or on no rollout, is refused before anything is written
    assert "pause would be ignored: already paused (PausedByStep)" in plugin.refused("pause", NAME)
    assert 'modelrollout "nope" not found in namespace' in plugin.refused("promote", "nope")

    said = plugin("promote", NAME)
    assert said.startswith(
        f"modelrollout.modelrollout.io/{NAME} promote requested (modelrollout.io/action=promote:"
    )
    when.wait_for_status(_at(3, 50), "the timed pause step at 50%", timeout=60)
    plugin("pause", NAME)
    when.wait_for_status(_at(3, 50, "PausedByUser"), "paused by the user", timeout=30)
    plugin("resume", NAME)
    when.wait_for_status(
        lambda s: (s.get("lastAction") or {}).get("verb") == "resume", "the resume", timeout=30
    )
    plugin("abort", NAME)
    when.wait_for_phase("RolledBack", timeout=60)
    plugin("retry", NAME)
    when.wait_for_status(_at(1, 25), "the retry back at the first pause", timeout=60)
    plugin("promote", "--full", NAME)
    when.wait_for_phase("Promoted", timeout=60)
    _stop_watch(watch, phases=["Paused", "RolledBack", "Promoted"])

    then = When(given.env).then()
    then.phase("Promoted").stable_version("v2")
    then.that(
        lambda s: (
            [(h["outcome"], h["reason"]) for h in s["history"]]
            == [("Aborted", "Aborted"), ("Promoted", "PromotedManually")]
        ),
        "aborted, then promoted by the plugin's actions",
    )

    # lineage as a tree, Graphviz and JSON
    tree = plugin("lineage", NAME).splitlines()
    assert (
        tree[0] == NAME and tree[1].startswith("└── v1  ") and tree[2].startswith("    └── v2  Promoted")
    ), tree
    assert tree[2].endswith("<- stable"), tree
    assert '"v1" -> "v2";' in plugin("lineage", NAME, "-o", "dot")
    lineage = json.loads(plugin("lineage", NAME, "-o", "json"))
    assert lineage["stableVersion"] == "v2" and [e["version"] for e in lineage["lineage"]] == ["v1", "v2"]

    # plot: a PNG drawn from the run's real Prometheus
    png = tmp_path / "rollout.png"
    assert plugin("plot", NAME, "-f", str(png)).strip() == f"wrote {png}"
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 20_000

    # completion: kubectl's own plugin completion, and the bash script
    names = subprocess.run(
        [plugin.kubectl, "__complete", "modelrollout", "status", "-n", given.env.namespace, "f"],
        capture_output=True, text=True, env=plugin.environ, timeout=30,
    ).stdout.splitlines()  # fmt: skip
    assert names == [NAME, ":4"], names
    script = plugin.run("completion", "bash").stdout
    words = (
        'COMP_WORDS=(kubectl-modelrollout pro); COMP_CWORD=1; _kubectl_modelrollout; echo "${COMPREPLY[@]}"'
    )
    bash = subprocess.run(
        ["bash", "-c", f"{script}\n{words}"], capture_output=True, text=True, env=plugin.environ, timeout=30
    )
    assert bash.stdout.strip() == "promote", bash


def _stop_watch(watch: subprocess.Popen[str], phases: list[str]) -> None:
    """`get -w` printed a line per change; each phase named was among them."""
    time.sleep(0.5)
    watch.terminate()
    out, err = watch.communicate(timeout=10)
    for phase in phases:
        assert any(f" {phase} " in line for line in out.splitlines()), (out, err)
