"""A Kubernetes call that gets no answer in time (`ApiKubeClient` raises a `KubeError` with
status 0) fails the reconcile, which the daemon retries; it is never taken for an answer."""

from __future__ import annotations

import pytest

from modelrollout.k8s import KubeError

from ...fixtures.fake_cluster import FakeCluster, rollout_spec

NO_ANSWER = KubeError(0, "Timeout", "the apiserver did not answer in time: read timed out")


def test_a_dry_run_without_an_answer_is_no_verdict_on_the_template() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 25}, {"pause": {}}]))
    cluster.client.fail("create_deployment", NO_ANSWER, where=lambda call: call.args["dry_run"])

    with pytest.raises(KubeError):
        cluster.reconcile()

    assert "InvalidTemplate" not in str(cluster.status()), "no answer is not a rejected template"
    cluster.step()
    assert cluster.status()["phase"] in ("Pending", "Progressing"), cluster.status()
    assert ("Warning", "InvalidTemplate") not in cluster.events()
