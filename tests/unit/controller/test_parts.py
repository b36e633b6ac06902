"""The controller's pure pieces: Deployment shape, status patches, observations, lineage merge."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.api.v1alpha1 import LABEL_MODEL, LABEL_ROLLOUT, LABEL_VERSION
from modelrollout.controller.apply import merge_lineage
from modelrollout.controller.observe import deployment_states, load, manual_action
from modelrollout.controller.status_patch import merge_patch
from modelrollout.controller.workloads import build_deployment
from modelrollout.k8s import Secret
from modelrollout.rollout import ActionVerb, RecordLineage, RolloutOutcome

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_version_deployment_selects_only_its_own_pods_and_carries_the_model_label() -> None:
    template = {
        "metadata": {"labels": {"team": "risk"}},
        "spec": {"containers": [{"name": "m", "image": "x"}]},
    }
    body = build_deployment(
        rollout_name="fraud", namespace="ns", model="fraud-model", version="v2", template=template, owner=None
    )
    assert body["metadata"]["name"] == "fraud-v2"
    assert body["spec"]["replicas"] == 0, "creating a version never shifts traffic by itself"
    assert body["spec"]["selector"]["matchLabels"] == {LABEL_ROLLOUT: "fraud", LABEL_VERSION: "v2"}
    pod_labels = body["spec"]["template"]["metadata"]["labels"]
    assert pod_labels == {
        "team": "risk",
        LABEL_ROLLOUT: "fraud",
        LABEL_MODEL: "fraud-model",
        LABEL_VERSION: "v2",
    }
    assert template["metadata"]["labels"] == {"team": "risk"}, "the user's template is not modified"


def test_merge_patch_removes_keys_that_left_a_map() -> None:
    old = {"phase": "Progressing", "weights": {"v1": 75, "v2": 25}, "history": [1]}
    new = {"phase": "Promoted", "weights": {"v2": 100}, "history": [1]}
    assert merge_patch(old, new) == {"phase": "Promoted", "weights": {"v1": None, "v2": 100}}
    assert merge_patch(new, new) == {}


def test_action_annotation_parses_or_explains() -> None:
    body = {"metadata": {"annotations": {"modelrollout.io/action": "abort:n1"}}}
    action, problem = manual_action(body)
    assert problem is None and action is not None
    assert (action.verb, action.nonce) == (ActionVerb.ABORT, "n1")
    action, problem = manual_action({"metadata": {"annotations": {"modelrollout.io/action": "explode"}}})
    assert action is None and problem is not None and "explode" in problem
    assert manual_action({"metadata": {}}) == (None, None)


def test_deployment_state_is_not_updated_while_the_controller_lags() -> None:
    deployment = {
        "metadata": {"generation": 3, "labels": {LABEL_VERSION: "v1"}},
        "spec": {"replicas": 4},
        "status": {"observedGeneration": 2, "replicas": 4, "readyReplicas": 4, "availableReplicas": 4,
                   "updatedReplicas": 4},
    }  # fmt: skip
    state = deployment_states({"v1": deployment})["v1"]
    assert state.available_replicas == 4 and not state.updated
    deployment["status"]["observedGeneration"] = 3
    assert deployment_states({"v1": deployment})["v1"].ready_for(4)


def test_a_spec_that_does_not_parse_is_reported_not_raised() -> None:
    loaded = load({"metadata": {"name": "x", "namespace": "n"}, "spec": {"model": "Bad Name"}})
    assert loaded.spec is None
    assert loaded.spec_error is not None and loaded.spec_error.startswith("spec.")


def test_lineage_facts_merge_into_status_in_order() -> None:
    facts = [
        RecordLineage(version="v1", outcome=RolloutOutcome.STABLE, at=T0),
        RecordLineage(
            version="v2", outcome=RolloutOutcome.PROGRESSING, at=T0, parent="v1", parameters={"lr": 0.1}
        ),
        RecordLineage(version="v2", outcome=RolloutOutcome.PROMOTED, at=T0),
    ]
    entries = merge_lineage([], facts)
    by_version = {e.version: e for e in entries}
    assert by_version["v2"].parent == "v1"
    assert by_version["v2"].outcome == "Promoted"
    assert by_version["v2"].parameters == {"lr": 0.1}
    assert merge_lineage(entries, facts[-1:]) == entries, "recording the same fact twice changes nothing"


def _result(final: bool, source_failed: bool, verdict: str = "Inconclusive") -> object:
    from modelrollout.analysis.types import Judgement
    from modelrollout.api.v1alpha1 import AnalysisSpec, Verdict
    from modelrollout.evaluation import EvaluationRequest, EvaluationResult

    request = EvaluationRequest(
        namespace="n", name="r", model="m", stable_version="v1", candidate_version="v2",
        analysis=AnalysisSpec(), started_at=T0, at=T0,
    )  # fmt: skip
    judgement = Judgement(verdict=Verdict(verdict), score=0.0, explanation="query failed")
    return EvaluationResult(
        request=request, evaluated_at=T0, final=final, intervals=3, judgement=judgement, metrics=(),
        source_failed=source_failed,
    )  # fmt: skip


def test_an_outage_at_the_final_look_is_not_a_look() -> None:
    from modelrollout.controller.analysis_batcher import observation

    assert observation(_result(final=True, source_failed=True)) is None  # type: ignore[arg-type]
    assert observation(_result(final=False, source_failed=True)) is not None  # type: ignore[arg-type]
    assert observation(_result(final=True, source_failed=False)) is not None  # type: ignore[arg-type]


def test_a_fail_at_the_final_look_counts_even_if_another_metrics_query_failed() -> None:
    """Rolling back is always safe; only an Inconclusive caused by the outage is held back."""
    from modelrollout.controller.analysis_batcher import observation

    failed = observation(_result(final=True, source_failed=True, verdict="Fail"))  # type: ignore[arg-type]

    assert failed is not None and failed.verdict == "Fail"


def test_status_carries_the_stable_path_and_the_good_versions() -> None:
    from modelrollout.api.v1alpha1 import ModelRolloutStatus
    from modelrollout.controller.apply import with_lineage

    facts = (
        RecordLineage(version="v1", outcome=RolloutOutcome.STABLE, at=T0),
        RecordLineage(version="v2", outcome=RolloutOutcome.PROGRESSING, at=T0, parent="v1"),
        RecordLineage(version="v2", outcome=RolloutOutcome.PROMOTED, at=T0.replace(hour=13)),
        RecordLineage(version="v3", outcome=RolloutOutcome.PROGRESSING, at=T0.replace(hour=14), parent="v2"),
        RecordLineage(version="v3", outcome=RolloutOutcome.ROLLED_BACK, at=T0.replace(hour=15)),
    )
    status = with_lineage(ModelRolloutStatus(), facts)
    assert status.stable_path == ["v1", "v2"]
    assert status.last_good_version == "v2"
    assert status.previous_good_version == "v1"


def test_a_controller_condition_follows_the_state_machines_rule() -> None:
    from modelrollout.api.v1alpha1 import ConditionType, ModelRolloutStatus, Reason
    from modelrollout.controller.reconcile import _with_condition

    status = ModelRolloutStatus(observed_generation=3)
    failed = _with_condition(status, ConditionType.DEGRADED, "True", Reason.APPLY_FAILED, "quota", T0)
    again = _with_condition(
        failed, ConditionType.DEGRADED, "True", Reason.INVALID_SPEC, "bad", T0.replace(hour=13)
    )
    assert status.conditions == [], "the input status is not modified"
    (condition,) = again.conditions
    assert (condition.reason, condition.message, condition.observed_generation) == ("InvalidSpec", "bad", 3)
    assert condition.last_transition_time == "2026-11-25T12:00:00Z", "same status: the transition time stays"


class _Secrets:
    """Stands in for the KubeClient's one call the batcher makes: reading a Secret (each one
    labelled for Prometheus)."""

    def __init__(self, values: dict[tuple[str, str, str], str]) -> None:
        self.values = values

    def read_secret(self, namespace: str, name: str) -> Secret:
        data = {
            key: value
            for (ns, secret, key), value in self.values.items()
            if (ns, secret) == (namespace, name)
        }
        return Secret(labels={"modelrollout.io/prometheus-credentials": "true"}, data=data)


def test_a_rotated_token_replaces_the_source_and_namespaces_keep_their_own() -> None:
    import asyncio

    from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
    from modelrollout.controller.analysis_batcher import AnalysisBatcher
    from modelrollout.evaluation import EvaluationRequest
    from modelrollout.metrics import PrometheusSource

    prometheus = PrometheusSpec.model_validate(
        {"address": "https://127.0.0.1:9", "auth": {"bearerToken": {"name": "prom", "key": "token"}}}
    )
    analysis = AnalysisSpec(
        prometheus=prometheus,
        metrics=[MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.01)],
    )
    secrets = _Secrets({("a", "prom", "token"): "one", ("b", "prom", "token"): "other"})
    batcher = AnalysisBatcher(client=secrets)  # type: ignore[arg-type]

    def evaluate(namespace: str) -> None:
        request = EvaluationRequest(namespace, "r", "m", "v1", "v2", analysis, started_at=T0, at=T0)
        asyncio.run(batcher.evaluate(request))

    evaluate("a")
    secrets.values[("a", "prom", "token")] = "two"
    evaluate("a")
    evaluate("a")
    evaluate("b")

    sources = batcher._sources
    assert len(sources) == 2, "one per namespace, the rotated token replaced in place"
    tokens = {key[2]: source for key, source in sources.items()}
    assert isinstance(tokens["a"], PrometheusSource) and isinstance(tokens["b"], PrometheusSource)
    assert tokens["a"]._client.headers == {"Authorization": "Bearer two"}
    assert tokens["b"]._client.headers == {"Authorization": "Bearer other"}


def test_a_configuration_error_at_the_final_look_holds_the_step_even_with_onInconclusive_promote() -> None:
    """Like an outage: a metric whose series does not exist says nothing about the candidate,
    so the final look is not taken and onInconclusive (promote here) never applies."""
    from dataclasses import replace

    from modelrollout.api.v1alpha1 import MetricResult, Verdict
    from modelrollout.controller.analysis_batcher import observation

    wrong = MetricResult(
        name="errors",
        verdict=Verdict.INCONCLUSIVE,
        configuration_error="MetricNotFound",
        explanation="MetricNotFound: no series x_errors_total ... Query: sum(increase(x_errors_total[30s]))",
    )
    result = replace(_result(final=True, source_failed=False), metrics=(wrong,))  # type: ignore[type-var]

    assert observation(result) is None  # type: ignore[arg-type]
    assert observation(replace(result, final=False)) is not None  # type: ignore[arg-type]
    dry = wrong.model_copy(update={"dry_run": True})
    assert observation(replace(result, metrics=(dry,))) is not None, "a dry-run metric never decides"  # type: ignore[arg-type]
