"""`kubectl modelrollout status NAME`: where one rollout stands and why (steps, weights, each
metric's evidence, conditions, recent Events); `-o json|yaml` prints the status object itself."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from . import kube
from .common import EXIT_OK, add_cluster_options, add_output_option, dump, status_of
from .status_format import render_status


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "status", help="steps, weights, verdicts, conditions and Events of one rollout"
    )
    parser.add_argument("name", help="the ModelRollout")
    add_cluster_options(parser)
    add_output_option(parser, ("json", "yaml"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cluster = kube.connect(args)
    rollout = cluster.get(args.name)
    if args.output:
        dump(status_of(rollout), args.output, sys.stdout)
        return EXIT_OK
    events = cluster.events(args.name)
    print(render_status(rollout, events, cluster.deployments_of(rollout), datetime.now(UTC)))
    return EXIT_OK
