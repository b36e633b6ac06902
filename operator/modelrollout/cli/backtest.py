"""`kubectl modelrollout backtest`: replay a rollout's analysis over a historical range.

It calls `evaluation.evaluate_interval` one aligned interval at a time, exactly as the operator
would have from `--start`, and stops at the first decisive verdict or at `maxDuration`. The
report says what the statistics concluded (`outcome`) and what the rollout's policy would have
done about it (`action`): `promote` on Pass, `onFailure` on Fail, `onInconclusive` once
`maxDuration` passed without a verdict, and `continue` when the range ended before either.
`decided_at` is when that action would have happened (null for `continue`).

Exit status: 0 Pass, 1 Fail, 2 Inconclusive, 3 error (bad input, Prometheus unreachable at the
start, or a configuration error: a deciding metric's series does not exist or its query returns
the wrong shape; the message names the metric and the query). A query failing within one
interval is not an error: that interval is Inconclusive.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import ValidationError

from ..api.v1alpha1 import KIND, ModelRolloutSpec, PrometheusSpec, Verdict, format_timestamp
from ..evaluation import EvaluationResult, evaluate_interval, first_interval_end, request_for_step
from ..metrics import MetricSource, PrometheusCredentials, new_metric_source

EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_ERROR = 0, 1, 2, 3
_EXIT_CODES = {Verdict.PASS: EXIT_PASS, Verdict.FAIL: EXIT_FAIL, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}


class BacktestError(Exception):
    """Input the backtest cannot run on; the message is for the person at the terminal."""


@dataclass(frozen=True)
class Rollout:
    """What a backtest needs from a ModelRollout manifest."""

    name: str
    namespace: str
    spec: ModelRolloutSpec


@dataclass
class BacktestReport:
    outcome: Verdict = Verdict.INCONCLUSIVE
    action: str = "continue"
    decided_at: datetime | None = None
    decisions: list[EvaluationResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "action": self.action,
            "decided_at": format_timestamp(self.decided_at) if self.decided_at else None,
            "decisions": [_decision_json(result) for result in self.decisions],
        }


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "backtest",
        help="replay a rollout's analysis over past Prometheus data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-f", "--filename", required=True, type=Path, help="the ModelRollout manifest")
    parser.add_argument("--prometheus", help="Prometheus URL (default: spec.analysis.prometheus.address)")
    parser.add_argument(
        "--start", required=True, type=parse_time, help="analysis start: RFC 3339 or unix seconds"
    )
    parser.add_argument(
        "--end", required=True, type=parse_time, help="end of the range: RFC 3339 or unix seconds"
    )
    parser.add_argument("-o", "--output", choices=("json", "text"), default="text")
    parser.add_argument("-n", "--namespace", help="namespace label value (default: metadata.namespace)")
    parser.add_argument(
        "--step", type=int, help="index of a canary analysis step: its metrics and maxDuration"
    )
    parser.add_argument("--bearer-token-file", type=Path, help="file holding a bearer token for Prometheus")
    parser.add_argument("--username", help="basic-auth user for Prometheus (with --password-file)")
    parser.add_argument("--password-file", type=Path, help="file holding the basic-auth password")
    parser.add_argument("--ca-file", type=Path, help="PEM CA bundle that signs Prometheus' certificate")
    parser.add_argument("--insecure-skip-verify", action="store_true", help="do not verify Prometheus' TLS")
    parser.set_defaults(run=run)


def parse_time(text: str) -> datetime:
    """RFC 3339 (a missing offset means UTC) or unix seconds."""
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is neither RFC 3339 nor unix seconds") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # looked up per call, so redirection applies
    try:
        if args.end <= args.start:
            raise BacktestError("--end must be after --start")
        rollout = load_rollout(args.filename, args.namespace)
        source = _source(rollout, args)
        if not source.is_online():
            raise BacktestError(f"Prometheus at {args.prometheus or _spec_address(rollout)} is unreachable")
        report = backtest(rollout, source, args.start, args.end, step=args.step)
    except BacktestError as error:
        print(f"backtest: {error}", file=err)
        return EXIT_ERROR
    if args.output == "json":
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        _print_text(report, out)
    return _EXIT_CODES[report.outcome]


def load_rollout(path: Path, namespace: str | None = None) -> Rollout:
    """The first ModelRollout in a (possibly multi-document) YAML file."""
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    except (OSError, yaml.YAMLError) as error:
        raise BacktestError(f"cannot read {path}: {error}") from error
    manifest = next((doc for doc in documents if doc.get("kind") == KIND), None)
    if manifest is None:
        raise BacktestError(f"{path} holds no {KIND}")
    try:
        spec = ModelRolloutSpec.model_validate(manifest.get("spec") or {})
    except ValidationError as error:
        raise BacktestError(f"{path}: invalid spec:\n{error}") from error
    metadata = manifest.get("metadata") or {}
    return Rollout(
        name=str(metadata.get("name") or spec.model),
        namespace=namespace or str(metadata.get("namespace") or "default"),
        spec=spec,
    )


def backtest(
    rollout: Rollout, source: MetricSource, start: datetime, end: datetime, *, step: int | None = None
) -> BacktestReport:
    """Evaluate every aligned interval from `start` until a verdict, `maxDuration` or `end`."""
    if end <= start:
        raise BacktestError("--end must be after --start")
    try:
        template = request_for_step(
            rollout.spec,
            namespace=rollout.namespace,
            name=rollout.name,
            started_at=start,
            at=start,
            step=step,
        )
    except ValueError as error:
        raise BacktestError(str(error)) from error
    report = BacktestReport()
    interval = timedelta(seconds=template.interval)
    moment = first_interval_end(start, template.interval)
    while moment <= end:
        result = evaluate_interval(replace(template, at=moment), source)
        if result.configuration_error is not None and not result.decisive:
            # Not a verdict to report: the spec is wrong, and so would be every later interval.
            raise BacktestError(
                f"configuration error at {format_timestamp(moment)}: {result.configuration_error}"
            )
        report.decisions.append(result)
        if result.decisive or result.final:
            report.outcome = result.verdict
            report.action = _policy_action(rollout.spec, result)
            report.decided_at = result.evaluated_at
            break
        moment += interval
    return report


def _policy_action(spec: ModelRolloutSpec, result: EvaluationResult) -> str:
    if result.verdict is Verdict.PASS:
        return "promote"
    if result.verdict is Verdict.FAIL:
        return str(spec.analysis.on_failure)
    return str(spec.analysis.on_inconclusive)


def _source(rollout: Rollout, args: argparse.Namespace) -> MetricSource:
    prometheus = rollout.spec.analysis.prometheus
    if prometheus is None and not args.prometheus:
        raise BacktestError("no Prometheus: pass --prometheus or set spec.analysis.prometheus.address")
    if (args.username is None) != (args.password_file is None):
        raise BacktestError("basic auth needs both --username and --password-file")
    if args.username is not None and args.bearer_token_file is not None:
        raise BacktestError("pass either a bearer token or basic auth, not both")
    try:
        credentials = PrometheusCredentials(
            bearer_token=args.bearer_token_file.read_text().strip() if args.bearer_token_file else None,
            username=args.username,
            # Only the line break an editor adds: a password may begin or end with a space.
            password=args.password_file.read_text().rstrip("\r\n") if args.password_file else None,
            ca_bundle=args.ca_file.read_text() if args.ca_file else None,
        )
    except OSError as error:
        raise BacktestError(f"cannot read a credentials file: {error}") from error
    if args.insecure_skip_verify:
        prometheus = (prometheus or PrometheusSpec(address=args.prometheus)).model_copy(
            update={"insecure_skip_verify": True}
        )
    return new_metric_source(prometheus, credentials, address=args.prometheus)


def _spec_address(rollout: Rollout) -> str:
    prometheus = rollout.spec.analysis.prometheus
    return prometheus.address if prometheus else "(none)"


def _decision_json(result: EvaluationResult) -> dict[str, Any]:
    return {
        "time": format_timestamp(result.evaluated_at),
        "verdict": str(result.verdict),
        "score": result.judgement.score,
        "intervals": result.intervals,
        "final": result.final,
        "explanation": result.judgement.explanation,
        "metrics": [metric.model_dump(mode="json", by_alias=True) for metric in result.metrics],
    }


def _print_text(report: BacktestReport, out: TextIO) -> None:
    for result in report.decisions:
        print(
            f"{format_timestamp(result.evaluated_at)}  {result.verdict:<12}  {result.judgement.explanation}",
            file=out,
        )
        for metric in result.metrics:
            print(f"    {metric.name:<20} {metric.verdict:<12} {metric.explanation}", file=out)
    decided = format_timestamp(report.decided_at) if report.decided_at else "-"
    print(f"outcome: {report.outcome}  action: {report.action}  decided at: {decided}", file=out)
