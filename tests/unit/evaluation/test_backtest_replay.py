"""The backtest's replay loop on the static source: where it stops and what the policy does."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelrollout.api.v1alpha1 import ModelRolloutSpec, Verdict
from modelrollout.cli import backtest as cli
from modelrollout.cli.main import main
from modelrollout.evaluation import first_interval_end

from ...fixtures.evaluation_fleet import INTERVAL, START, Rollout, Version, fleet_source

FIRST_END = first_interval_end(START, INTERVAL)
END = START + timedelta(minutes=40)


def rollout(**analysis: object) -> cli.Rollout:
    spec = ModelRolloutSpec.model_validate(
        {
            "model": "fraud",
            "service": "fraud",
            "stable": {"version": "v1"},
            "candidate": {"version": "v2"},
            "strategy": {
                "canary": {
                    "steps": [{"setWeight": 50}, {"analysis": {"metrics": ["errors"], "maxDuration": "5m"}}]
                }
            },
            "analysis": {
                "interval": f"{INTERVAL}s",
                "maxDuration": "20m",
                "prometheus": {"address": "http://prometheus:9090"},
                "metrics": [
                    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005},
                    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1},
                ],
                **analysis,
            },
        }
    )
    return cli.Rollout(name="fraud", namespace="team-a", spec=spec)


def test_the_replay_stops_at_the_first_decisive_verdict() -> None:
    bad = Rollout("team-a", "fraud", candidate=Version(error_rate=0.1))

    report = cli.backtest(rollout(), fleet_source([bad], FIRST_END, END), START, END)

    assert (report.outcome, report.action) == (Verdict.FAIL, "rollback")
    assert report.decided_at == report.decisions[-1].evaluated_at
    assert [d.evaluated_at for d in report.decisions] == [
        FIRST_END + timedelta(seconds=INTERVAL * k) for k in range(len(report.decisions))
    ]


def test_at_max_duration_without_a_verdict_the_inconclusive_policy_acts() -> None:
    quiet = Rollout("team-a", "fraud", stable=Version(requests=3), candidate=Version(requests=3))

    report = cli.backtest(
        rollout(onInconclusive="rollback"), fleet_source([quiet], FIRST_END, END), START, END
    )

    assert (report.outcome, report.action) == (Verdict.INCONCLUSIVE, "rollback")
    assert report.decisions[-1].final
    assert report.decided_at is not None and report.decided_at >= START + timedelta(minutes=20)
    assert not any(d.final for d in report.decisions[:-1])


def test_a_step_runs_its_own_metrics_and_max_duration() -> None:
    quiet = Rollout("team-a", "fraud", stable=Version(requests=3), candidate=Version(requests=3))

    report = cli.backtest(rollout(), fleet_source([quiet], FIRST_END, END), START, END, step=1)

    assert {m.name for d in report.decisions for m in d.metrics} == {"errors"}
    assert report.decided_at is not None and report.decided_at < START + timedelta(minutes=6)
    with pytest.raises(cli.BacktestError, match="not an analysis step"):
        cli.backtest(rollout(), fleet_source([quiet], FIRST_END, END), START, END, step=0)


def test_score_thresholds_from_the_spec_decide_kayenta_style() -> None:
    """Errors fail, latency passes: 50/100. Strict rules roll back; thresholds of 50/40 pass."""
    erroneous = Rollout("team-a", "fraud", candidate=Version(error_rate=0.1))
    source = fleet_source([erroneous], FIRST_END, END)

    strict = cli.backtest(rollout(), source, START, END)
    tolerant = cli.backtest(rollout(scoreThresholds={"pass": 50, "marginal": 40}), source, START, END)

    assert strict.outcome == Verdict.FAIL
    assert tolerant.outcome == Verdict.PASS
    final = tolerant.decisions[-1]
    assert [m.verdict for m in final.metrics] == [Verdict.FAIL, Verdict.PASS]
    assert "within what the thresholds tolerate: errors" in final.judgement.explanation


def test_times_are_rfc3339_or_unix_seconds() -> None:
    expected = datetime(2025, 1, 1, 12, tzinfo=UTC)

    assert cli.parse_time("2025-01-01T12:00:00Z") == expected
    assert cli.parse_time("2025-01-01T13:00:00+01:00") == expected
    assert cli.parse_time(str(int(expected.timestamp()))) == expected
    assert cli.parse_time("1735732800.0") == expected
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_time("yesterday")


def test_a_rollout_without_candidate_is_an_input_error() -> None:
    spec = rollout().spec.model_copy(update={"candidate": None})

    with pytest.raises(cli.BacktestError, match="candidate"):
        cli.backtest(cli.Rollout("fraud", "team-a", spec), fleet_source([], FIRST_END, END), START, END)


MANIFEST = """
apiVersion: modelrollout.io/v1alpha1
kind: ModelRollout
metadata: {name: fraud, namespace: team-a}
spec:
  model: fraud
  service: fraud
  stable: {version: v1}
  candidate: {version: v2}
  strategy: {canary: {steps: [{setWeight: 50}]}}
  analysis:
    prometheus: {address: "http://127.0.0.1:9"}
    metrics: [{name: errors, type: errorRate, maxAbsoluteIncrease: 0.005}]
"""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--start", "yesterday", "--end", "1"], "neither RFC 3339 nor unix seconds"),
        (["--start", "0"], "the following arguments are required: --end"),
        (["--start", "100", "--end", "50"], "--end must be after --start"),
        (["--start", "0", "--end", "60", "--username", "ops"], "needs both --username and --password-file"),
        (["--start", "0", "--end", "60", "-o", "yaml"], "invalid choice: 'yaml'"),
    ],
)
def test_bad_arguments_exit_3_not_the_inconclusive_2(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "rollout.yaml"
    manifest.write_text(MANIFEST)

    status = _exit_status(["backtest", "-f", str(manifest), *arguments])

    assert status == cli.EXIT_ERROR == 3
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("kind: Deployment\n", "holds no ModelRollout"),
        (MANIFEST.replace("maxAbsoluteIncrease: 0.005", "maxAbsoluteIncrease: -1"), "invalid spec"),
    ],
)
def test_a_manifest_that_cannot_be_used_exits_3(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "rollout.yaml"
    if content is not None:
        manifest.write_text(content)

    status = _exit_status(["backtest", "-f", str(manifest), "--start", "0", "--end", "60"])

    assert status == 3
    assert message in capsys.readouterr().err


def _exit_status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
