"""`python -m modelrollout_dev.rbac --namespace NS [...]`: the operator's namespaced RBAC.

Prints `manifests/install/rbac-namespaced.yaml` made concrete: its Namespace and ServiceAccount
once, its Role and RoleBinding once per watched namespace, for `kubectl apply -f -`. The file
stays the one place the rules are written; this only fills in the namespaces (and, for tests
that must not share the installed identity, another ServiceAccount).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from .tools import repo_root

PLACEHOLDER = "WATCHED_NAMESPACE"
OPERATOR_NAMESPACE = "modelrollout-system"
OPERATOR_ACCOUNT = "modelrollout-operator"


def namespaced_rbac(
    watched: Sequence[str], account_namespace: str = OPERATOR_NAMESPACE, account: str = OPERATOR_ACCOUNT
) -> list[dict[str, Any]]:
    """The objects that let ServiceAccount `account_namespace/account` run the operator with
    `--namespace` for each of `watched`, and grant it nothing cluster-wide."""
    template = list(yaml.safe_load_all((repo_root() / "manifests/install/rbac-namespaced.yaml").read_text()))
    shared = [copy.deepcopy(d) for d in template if d["metadata"].get("namespace") != PLACEHOLDER]
    for document in shared:
        meta = document["metadata"]
        if document["kind"] == "Namespace":
            meta["name"] = account_namespace
        elif document["kind"] == "ServiceAccount":
            meta.update(name=account, namespace=account_namespace)
        else:  # the leader-election Role and RoleBinding, beside the operator
            meta.update(name=f"{account}-leader-election", namespace=account_namespace)
            if "roleRef" in document:
                document["roleRef"]["name"] = meta["name"]
            for subject in document.get("subjects", []):
                subject.update(name=account, namespace=account_namespace)
    per_namespace: list[dict[str, Any]] = []
    for namespace in watched:
        for document in template:
            if document["metadata"].get("namespace") != PLACEHOLDER:
                continue
            concrete = copy.deepcopy(document)
            concrete["metadata"].update(name=account, namespace=namespace)  # one Role per account
            if "roleRef" in concrete:
                concrete["roleRef"]["name"] = account
            for subject in concrete.get("subjects", []):
                subject.update(name=account, namespace=account_namespace)
            per_namespace.append(concrete)
    return shared + per_namespace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.rbac", description=__doc__)
    parser.add_argument(
        "-n", "--namespace", action="append", required=True, help="a watched namespace (repeatable)"
    )
    parser.add_argument(
        "--service-account",
        default=f"{OPERATOR_NAMESPACE}/{OPERATOR_ACCOUNT}",
        metavar="NAMESPACE/NAME",
        help="the operator's ServiceAccount (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    account_namespace, _, account = args.service_account.partition("/")
    if not account:
        parser.error("--service-account takes NAMESPACE/NAME")
    yaml.safe_dump_all(
        namespaced_rbac(args.namespace, account_namespace, account), sys.stdout, sort_keys=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
