"""`bounded_status` holds any status under its bound, sheds in the documented order, and is
idempotent (the pending Events' status digest survives a rewrite)."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import STATUS_MAX_BYTES, ModelRolloutStatus, bounded_status, stored_size

WORST_TEXT = "<" * 5000
"""Six bytes a character in the apiserver's JSON: the most expensive text there is."""


def metric(name: str, text: str = WORST_TEXT) -> dict[str, Any]:
    numbers = dict.fromkeys(
        ("stable", "candidate", "effect", "intervalLow", "intervalHigh"), -1.2345678901234567e-300
    )
    numbers |= dict.fromkeys(("pValue", "eValue", "cohensD", "hedgesG"), -1.2345678901234567e-300)
    return {"name": name, "verdict": "Inconclusive", "samplesStable": 10**18, "samplesCandidate": 10**18,
            "configurationError": "c" * 64, "explanation": text, **numbers}  # fmt: skip


def adversarial(text: str = WORST_TEXT) -> ModelRolloutStatus:
    """Every list at its cap, every text long and made of the costliest character."""
    metrics = [metric("m" * 60 + f"{index:03d}", text) for index in range(32)]
    versions = [f"v{index:02d}" + "x" * 37 for index in range(50)]
    return ModelRolloutStatus.model_validate({
        "phase": "Progressing", "message": text, "stableVersion": versions[48], "candidateVersion": versions[49],
        "analysis": {"verdict": "Inconclusive", "message": text, "metrics": metrics},
        "conditions": [{"type": f"T{index}", "status": "True", "reason": "R", "message": text,
                        "lastTransitionTime": "2030-01-01T00:00:00Z"} for index in range(8)],
        "history": [{"candidate": versions[i], "stable": versions[i - 1], "outcome": "RolledBack",
                     "reason": text, "startedAt": "2030-01-01T00:00:00Z",
                     "finishedAt": "2030-01-01T00:00:00Z"} for i in range(1, 21)],
        "lineage": [{"version": v, "parent": versions[i - 1] if i else None, "outcome": "RolledBack",
                     "parameters": {f"p{k:02d}" + "n" * 60: text[:256] for k in range(32)},
                     "reason": text, "metrics": metrics, "createdAt": "2030-01-01T00:00:00Z",
                     "rolledBackAt": "2030-01-01T00:00:00Z"} for i, v in enumerate(versions)],
        "stablePath": versions,
        "lastAction": {"verb": "abort", "nonce": "n", "at": "2030-01-01T00:00:00Z", "result": text},
    })  # fmt: skip


def size(status: ModelRolloutStatus) -> int:
    return stored_size(status.model_dump(by_alias=True, exclude_none=True, mode="json"))


def test_even_the_costliest_status_fits_and_keeps_every_version() -> None:
    status = adversarial()
    assert size(status) > 50 * STATUS_MAX_BYTES

    bounded = bounded_status(status)

    assert size(bounded) <= STATUS_MAX_BYTES
    assert [entry.version for entry in bounded.lineage] == [entry.version for entry in status.lineage]
    assert [entry.parent for entry in bounded.lineage] == [entry.parent for entry in status.lineage]
    assert len(bounded.analysis.metrics) == 32 if bounded.analysis else False
    assert bounded_status(bounded) == bounded, "idempotent"


def test_a_status_that_fits_is_left_as_it_is() -> None:
    status = ModelRolloutStatus.model_validate(
        {"phase": "Progressing", "message": "step 2/4", "lineage": [{"version": "v1", "outcome": "Stable"}]}
    )
    assert bounded_status(status) == status


def test_texts_are_cut_visibly_and_the_oldest_evidence_goes_first() -> None:
    status = adversarial("x" * 5000)
    few = status.model_copy(update={"lineage": status.lineage[-3:], "history": []})

    bounded = bounded_status(few)

    assert bounded.message.endswith("…") and len(bounded.message) == 1024
    oldest, _, newest = bounded.lineage
    assert oldest.metrics is None and oldest.parameters is None, "the oldest evidence went first"
    assert newest.parameters is not None, "never the candidate's parameters"
    assert all(len(entry.reason) <= 256 for entry in bounded.lineage)


def test_a_status_that_fits_comes_back_as_it_is() -> None:
    """Every reconcile bounds the status it writes, and nearly every one fits: it is returned
    itself, not rebuilt (a model validation per write), while one with a text past its limit
    is cut."""
    fitting = ModelRolloutStatus.model_validate({"phase": "Progressing", "message": "short"})
    long_message = ModelRolloutStatus.model_validate({"phase": "Progressing", "message": WORST_TEXT})

    assert bounded_status(fitting) is fitting
    cut = bounded_status(long_message)
    assert cut is not long_message
    assert cut.message is not None and len(cut.message) < len(WORST_TEXT)
