"""The ModelRollout CustomResourceDefinition, generated from the pydantic models.

`python -m modelrollout.api.v1alpha1.crd` prints it (`make crds` writes it to `crds/`);
`--check FILE` exits 1 with a diff when FILE is stale, which is how CI keeps the committed CRD
and the models from drifting apart.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from . import GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION
from .cel import CelRule
from .crd_rules import ROOT_RULES, RULES
from .crd_schema import Schema, model_names, structural_schema
from .generated import is_stale
from .spec import ModelRolloutSpec
from .status import ModelRolloutStatus

CATEGORIES = ("modelrollout",)
"""`kubectl get modelrollout` lists every kind in the category (only ours so far)."""

HEADER = (
    "# Generated from operator/modelrollout/api/v1alpha1 by `make crds`; do not edit.\n"
    "# CI runs `python -m modelrollout.api.v1alpha1.crd --check` on this file.\n"
)


def _column(name: str, json_path: str, kind: str, description: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": json_path, "description": description}
    if priority:
        column["priority"] = priority
    return column


PRINTER_COLUMNS = (
    _column("Model", ".spec.model", "string", "The logical model."),
    _column("Stable", ".status.stableVersion", "string", "The version that is safe to serve."),
    _column("Candidate", ".status.candidateVersion", "string", "The version being rolled out."),
    _column("Phase", ".status.phase", "string", "Where the rollout is in its life."),
    _column(
        "Weight", ".status.candidateWeight", "number", "Candidate's share of traffic, percent (0.1 steps)."
    ),
    _column("Step", ".status.currentStep", "integer", "Index of the canary step being executed."),
    _column("Verdict", ".status.analysis.verdict", "string", "Verdict of the last analysis interval."),
    _column("Age", ".metadata.creationTimestamp", "date", "Time since the ModelRollout was created."),
    _column("Service", ".spec.service", "string", "The Service clients call.", priority=1),
    _column("Strategy", ".spec.strategy.type", "string", "The rollout strategy.", priority=1),
    _column("Replicas", ".status.replicas", "integer", "Replicas of every version together.", priority=1),
    _column("Message", ".status.message", "string", "What the operator is doing or waiting for.", priority=1),
)
"""`kubectl get modelrollouts` columns; priority 1 ones appear with `-o wide`."""


SCALE_SUBRESOURCE = {
    "specReplicasPath": ".spec.replicas",
    "statusReplicasPath": ".status.replicas",
    "labelSelectorPath": ".status.selector",
}
"""`modelrollouts/scale`: an HPA (or `kubectl scale`) aims at the ModelRollout, whose name stays,
rather than at a version's Deployment, which a promotion retires. The operator splits
`spec.replicas` between the versions and writes `status.replicas` and `status.selector`."""


def openapi_schema(rules: Mapping[str, tuple[CelRule, ...]] = RULES) -> Schema:
    """The `openAPIV3Schema` of the ModelRollout resource, with `rules` on the models they name."""
    stray = set(rules) - model_names(ModelRolloutSpec) - model_names(ModelRolloutStatus)
    if stray:
        raise ValueError(f"CEL rules for models the resource does not contain: {sorted(stray)}")
    return {
        "description": (
            "A ModelRollout moves traffic from the stable version of an ML model to a candidate "
            "version step by step, and promotes or rolls back on statistical evidence."
        ),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this representation of an object.",
                "type": "string",
            },
            "kind": {"description": "The REST resource this object represents.", "type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(ModelRolloutSpec, rules),
            "status": structural_schema(ModelRolloutStatus, rules),
        },
        "required": ["spec"],
        "x-kubernetes-validations": [rule.to_schema() for rule in ROOT_RULES],
    }


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition as a plain dict, ready for YAML or the API."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES),
                "categories": list(CATEGORIES),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}, "scale": dict(SCALE_SUBRESOURCE)},
                    "additionalPrinterColumns": [dict(column) for column in PRINTER_COLUMNS],
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors: a reader of the CRD sees every schema spelled out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_crd() -> str:
    """The CRD as the YAML committed in `crds/modelrollout.io_modelrollouts.yaml`."""
    body = yaml.dump(build_crd(), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout.api.v1alpha1.crd", description=__doc__)
    parser.add_argument("--check", metavar="FILE", type=Path, help="exit 1 with a diff when FILE is stale")
    args = parser.parse_args(argv)
    generated = render_crd()
    if args.check is None:
        sys.stdout.write(generated)
        return 0
    return 1 if is_stale(args.check, generated, "make crds") else 0


if __name__ == "__main__":
    sys.exit(main())
