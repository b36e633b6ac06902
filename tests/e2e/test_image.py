"""The operator's container image, proven by running it: built as `make image` builds it (cached by
the wheel set's hash), its config read, its OCI archive opened, and its entrypoint run against the
local control plane through the in-cluster configuration path until a canary is promoted."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.image import IMAGE_REPOSITORY, LATEST_ARCHIVE, BuiltImage, build_image
from modelrollout_dev.model_traffic import Behaviour

from .conftest import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE
from .env import Env
from .given import Given
from .image_operator import ImageOperatorProcess, image_config, service_account_dir
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

NON_ROOT = "65532:65532"


@pytest.fixture(scope="module")
def image() -> BuiltImage:
    """The code `make image` runs: a no-op beyond hashing when the tree's image already exists."""
    return build_image()


@pytest.fixture
def env(
    cluster: LocalCluster, namespace: str, operator_kubeconfig: Path, image: BuiltImage, tmp_path: Path
) -> Iterator[Env]:
    """As conftest's `env`, with the operator run from the image under the installed operator's
    ServiceAccount (operator_kubeconfig installs its CRD and RBAC; the kubeconfig itself is unused)."""
    operator = ImageOperatorProcess(
        cluster, namespace, operator_kubeconfig, tmp_path / "operator.log", image=image.tag,
        token_dir=service_account_dir(cluster, OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, tmp_path / "sa"),
    )  # fmt: skip
    environment = Env(cluster=cluster, namespace=namespace, operator=operator)
    try:
        yield environment
    finally:
        environment.close()
        operator.remove()


def test_the_image_runs_as_a_numeric_non_root_user_and_needs_no_shell(image: BuiltImage) -> None:
    config = image_config(image.tag)

    assert config.get("User") == NON_ROOT, (
        f"USER is {config.get('User')!r}: Pod Security needs a numeric non-root"
    )
    entrypoint = config.get("Entrypoint")
    assert isinstance(entrypoint, list) and entrypoint[0].startswith("/"), (
        f"the entrypoint {entrypoint!r} is not an absolute exec-form command"
    )
    assert Path(entrypoint[0]).name == "modelrollout-operator" and "sh" not in {
        Path(word).name for word in entrypoint
    }, f"the entrypoint {entrypoint!r} runs through a shell"
    assert isinstance(config.get("Cmd"), list), "CMD is in shell form"
    assert any(e.startswith("TMPDIR=/tmp") for e in config.get("Env", [])), "temporary files go to /tmp"


def test_make_image_writes_an_oci_archive_that_kind_and_docker_load(image: BuiltImage) -> None:
    names = subprocess.run(["tar", "tf", str(image.archive)], capture_output=True, text=True, check=True)

    assert {"index.json", "oci-layout"} <= set(names.stdout.split()), names.stdout
    with tarfile.open(image.archive) as archive:
        index_file = archive.extractfile("index.json")
        assert index_file is not None
        index = json.load(index_file)
    refs = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    assert refs == [f"{IMAGE_REPOSITORY}:dev"], f"the archive names {refs}: a loaded image would be unnamed"
    latest = image.archive.parent / LATEST_ARCHIVE
    assert latest.resolve() == image.archive, f"{latest} (the README's path) is not the newest archive"


def test_the_operator_from_the_image_promotes_a_canary_through_in_cluster_config(given: Given) -> None:
    operator = given.env.operator
    assert isinstance(operator, ImageOperatorProcess)
    uid_gid = operator.exec(
        "/opt/modelrollout/bin/python3", "-c", "import os; print(os.getuid(), os.getgid())"
    )
    root_before = operator.root_snapshot()
    operator.start()
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()})
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}],
        analysis=given.analysis([{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}]),
    )

    when = given.rollout(spec).wait_for_phase("Promoted", timeout=90)

    assert uid_gid.split() == ["65532", "65532"], f"the container ran as {uid_gid!r}"
    then = when.then()
    then.phase("Promoted").stable_version("v2").that(
        lambda s: s["weights"] == {"v2": 100}, "all traffic on v2"
    )
    then.that(lambda s: s["analysis"]["verdict"] == "Pass", "the analysis, run inside the image, passed")
    then.event("Promoted")
    assert operator.proc is not None and operator.proc.poll() is None, (
        f"the operator exited:\n{operator.log()[-3000:]}"
    )
    operator.stop()
    root_after = operator.root_snapshot()
    written = sorted(
        p for p in root_after.keys() | root_before.keys() if root_after.get(p) != root_before.get(p)
    )
    assert not written, f"the operator wrote outside /tmp, which a read-only root forbids: {written[:20]}"
