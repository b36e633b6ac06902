"""What the router reads in the versions' answers: scores and classes (the prediction histogram
and the shadow comparison) and ranked lists (interleaving), in KServe v1 and Open Inference
Protocol (v2) shapes.

v1: `{"predictions": [...]}` whose items are scores, objects with a score (`score`,
`probability` or `prediction`) and maybe a class (`class` or `label`), or lists of class
probabilities (the score is the highest, the class its index). v2: `{"outputs": [...]}`, the
output named `score`/`scores`/`probability`/`predict` (else the first), with a `class`/`label`
output for classes if there is one. A score without a class is the positive class at >= 0.5.
"""

from __future__ import annotations

import copy
from typing import Any

Class = int | str
_SCORE_KEYS = ("score", "probability", "prediction")
_CLASS_KEYS = ("class", "label")
_V2_SCORE_NAMES = ("score", "scores", "probability", "predict")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _from_item(item: Any) -> tuple[float, Class] | None:
    score = _number(item)
    if score is not None:
        return score, int(score >= 0.5)
    if isinstance(item, dict):
        for key in _SCORE_KEYS:
            score = _number(item.get(key))
            if score is not None:
                label = next((item[k] for k in _CLASS_KEYS if isinstance(item.get(k), int | str)), None)
                return score, int(score >= 0.5) if label is None else label
        return None
    if isinstance(item, list) and item:
        numbers = [_number(value) for value in item]
        if all(n is not None for n in numbers):
            best = max(range(len(numbers)), key=lambda i: numbers[i] or 0.0)
            return float(numbers[best] or 0.0), best
    return None


def _v2_output(answer: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any] | None:
    outputs = answer.get("outputs")
    if not isinstance(outputs, list):
        return None
    named = [o for o in outputs if isinstance(o, dict) and o.get("name") in names]
    return named[0] if named else None


def scores_and_classes(answer: Any) -> tuple[list[float], list[Class]]:
    """The answer's scores and classes, ([], []) when it holds none the router can read."""
    if not isinstance(answer, dict):
        return [], []
    predictions = answer.get("predictions")
    if isinstance(predictions, list):
        read = [_from_item(item) for item in predictions]
        if read and all(r is not None for r in read):
            return [r[0] for r in read if r], [r[1] for r in read if r]
        return [], []
    outputs = answer.get("outputs")
    if isinstance(outputs, list) and outputs:
        output = _v2_output(answer, _V2_SCORE_NAMES) or outputs[0]
        data = output.get("data") if isinstance(output, dict) else None
        scores = [_number(v) for v in data] if isinstance(data, list) else []
        if not scores or any(s is None for s in scores):
            return [], []
        classes_output = _v2_output(answer, _CLASS_KEYS)
        labels = classes_output.get("data") if classes_output else None
        if isinstance(labels, list) and len(labels) == len(scores):
            return [float(s or 0.0) for s in scores], list(labels)
        return [float(s or 0.0) for s in scores], [int((s or 0.0) >= 0.5) for s in scores]
    return [], []


def _ids(value: Any) -> list[Any] | None:
    if isinstance(value, list) and all(isinstance(i, str | int) and not isinstance(i, bool) for i in value):
        return value
    return None


def ranked_list(answer: Any, field: str) -> list[Any] | None:
    """The ranked item ids at `field` (top level, in `predictions[0]`, or the v2 output of that
    name), None when the answer has no such list of ids."""
    if not isinstance(answer, dict):
        return None
    if field in answer:
        return _ids(answer[field])
    predictions = answer.get("predictions")
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        return _ids(predictions[0].get(field))
    output = _v2_output(answer, (field,))
    return None if output is None else _ids(output.get("data"))


def replace_ranked_list(answer: dict[str, Any], field: str, items: list[Any]) -> dict[str, Any]:
    """A copy of `answer` with `items` where `ranked_list` found its list."""
    merged = copy.deepcopy(answer)
    if field in merged:
        merged[field] = items
        return merged
    predictions = merged.get("predictions")
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        predictions[0][field] = items
        return merged
    output = _v2_output(merged, (field,))
    if output is not None:
        output["data"] = items
        output["shape"] = [len(items)]
    return merged
