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
import yaml

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

    def concurrently(self, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        """kubectl commands (`modelrollout` included) run side by side, as several terminals
        would: the plugin's start-up is most of each one's time. `env=NAME` drops that variable."""
        started = []
        for command in commands:
            environ = dict(self.environ)
            for word in [w for w in command if w.startswith("env=")]:
                environ.pop(word.removeprefix("env="))
            argv = [self.kubectl, *(w for w in command if not w.startswith("env="))]
            started.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            env=environ, cwd=self.env.cluster.run_dir))  # fmt: skip
        results = []
        for process in started:
            out, err = process.communicate(timeout=90)
            results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        return results

    def __call__(self, *args: str) -> str:
        return self.run(*args, "-n", self.env.namespace).stdout

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

    # get as a table, as JSON, and wide across namespaces with --kubeconfig and --context (no
    # $KUBECONFIG); status; an action the operator would ignore, or on no rollout, is refused
    # before anything is written
    ns = ["-n", given.env.namespace]
    context = given.env.cluster.kubectl("config", "current-context").stdout.strip()
    flags = ["--kubeconfig", str(given.env.cluster.kubeconfig), "--context", context, "env=KUBECONFIG"]
    table, as_json, as_yaml, everywhere, status, pause, missing = plugin.concurrently(
        ["modelrollout", "get", *ns], ["modelrollout", "get", NAME, "-o", "json", *ns],
        ["modelrollout", "get", "-o", "yaml", *ns],
        ["modelrollout", "get", "-A", "-o", "wide", *flags], ["modelrollout", "status", NAME, *ns],
        ["modelrollout", "pause", NAME, *ns], ["modelrollout", "promote", "nope", *ns],
    )  # fmt: skip
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "PHASE", "STABLE", "CANDIDATE", "WEIGHT", "STEP", "AGE"], table
    assert lines[1].split()[:6] == [NAME, "Paused", "v1", "v2", "25%", "2/4"], table
    assert json.loads(as_json.stdout)["items"][0]["status"]["candidateWeight"] == 25
    assert yaml.safe_load(as_yaml.stdout)["items"][0]["metadata"]["name"] == NAME
    assert given.env.namespace in everywhere.stdout and "VERDICT" in everywhere.stdout, everywhere

    # status: the current step marked, the weights three ways, conditions, Events
    text = status.stdout
    assert "=> 2. pause (until resumed or promoted)" in text and "requested  v2 25% (step 1)" in text, status
    assert "serving    v1 75% (3 ready), v2 25% (1 ready)" in text
    assert "RolloutStarted" in text and "Conditions:" in text

    for refused, why in [(pause, "pause would be ignored: already paused (PausedByStep)"),
                         (missing, 'modelrollout "nope" not found in namespace')]:  # fmt: skip
        assert refused.returncode == 3 and not refused.stdout and why in refused.stderr, refused

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

    # lineage as a tree, Graphviz and JSON; plot, a PNG from the run's real Prometheus; completion
    # through kubectl's own plugin completion and the bash script
    png = tmp_path / "rollout.png"
    tree, dot, as_json, plot, names, script = plugin.concurrently(
        ["modelrollout", "lineage", NAME, *ns], ["modelrollout", "lineage", NAME, "-o", "dot", *ns],
        ["modelrollout", "lineage", NAME, "-o", "json", *ns], ["modelrollout", "plot", NAME, "-f", str(png), *ns],
        ["__complete", "modelrollout", "status", *ns, "f"], ["modelrollout", "completion", "bash"],
    )  # fmt: skip
    lines = tree.stdout.splitlines()
    assert lines[0] == NAME and lines[1].startswith("└── v1  "), tree
    assert lines[2].startswith("    └── v2  Promoted") and lines[2].endswith("<- stable"), tree
    assert '"v1" -> "v2";' in dot.stdout, dot
    lineage = json.loads(as_json.stdout)
    assert lineage["stableVersion"] == "v2" and [e["version"] for e in lineage["lineage"]] == ["v1", "v2"]

    assert plot.stdout.strip() == f"wrote {png}", plot
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 20_000

    assert names.stdout.splitlines() == [NAME, ":4"], names
    words = (
        'COMP_WORDS=(kubectl-modelrollout pro); COMP_CWORD=1; _kubectl_modelrollout; echo "${COMPREPLY[@]}"'
    )
    bash = subprocess.run(
        ["bash", "-c", f"{script.stdout}\n{words}"],
        capture_output=True,
        text=True,
        env=plugin.environ,
        timeout=30,
    )
    assert bash.stdout.strip() == "promote", bash

    # undo: back to v1, kept at zero since v2's promotion; a version never kept is refused before
    # anything is written
    refused = plugin.run("undo", "--to-version", "v0", NAME, *ns, ok=False)
    assert refused.returncode == 3 and "v0 is not kept for an undo (kept: v1" in refused.stderr, refused
    said = plugin("undo", NAME)
    assert f"modelrollout.modelrollout.io/{NAME} undo requested (modelrollout.io/action=undo:" in said, said
    when.wait_for_phase("RolledBack", timeout=60)
    then = When(given.env).then()
    then.phase("RolledBack").stable_version("v1").condition("Progressing", "False", "Undone")


def _stop_watch(watch: subprocess.Popen[str], phases: list[str]) -> None:
    """`get -w` printed the table, then a line per change under the same columns; each phase
    named was among them."""
    time.sleep(0.5)
    watch.terminate()
    out, err = watch.communicate(timeout=10)
    header, *lines = out.splitlines()
    column = header.index("PHASE")
    seen = [line[column:].split()[0] for line in lines]
    assert header.startswith("NAME") and all(line.startswith(NAME) for line in lines), (out, err)
    assert set(phases) <= set(seen), (out, err)
