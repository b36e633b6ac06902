"""Scores, classes and ranked lists read from the answers of both protocols."""

from __future__ import annotations

from typing import Any

from modelrollout.router.predictions import ranked_list, replace_ranked_list, scores_and_classes


def test_v1_scores_and_classes() -> None:
    assert scores_and_classes({"predictions": [0.2, 0.7]}) == ([0.2, 0.7], [0, 1])
    answer = {"predictions": [{"score": 0.9, "class": 1}, {"probability": 0.1, "label": "no"}]}
    assert scores_and_classes(answer) == ([0.9, 0.1], [1, "no"])
    assert scores_and_classes({"predictions": [[0.1, 0.7, 0.2]]}) == ([0.7], [1])


def test_v2_scores_and_classes() -> None:
    answer = {"outputs": [{"name": "score", "datatype": "FP32", "shape": [2], "data": [0.4, 0.6]}]}
    assert scores_and_classes(answer) == ([0.4, 0.6], [0, 1])


def test_garbage_has_no_scores() -> None:
    for answer in ({}, {"predictions": "x"}, {"outputs": [{"data": ["a"]}]}, [1, 2], "text"):
        assert scores_and_classes(answer) == ([], [])


def test_a_ranked_list_is_found_top_level_in_predictions_or_in_v2_outputs() -> None:
    top: dict[str, Any] = {"ranking": ["a", "b"]}
    v1: dict[str, Any] = {"predictions": [{"ranking": [3, 1, 2]}]}
    v2: dict[str, Any] = {"outputs": [{"name": "ranking", "datatype": "INT64", "shape": [2], "data": [5, 6]}]}
    assert ranked_list(top, "ranking") == ["a", "b"]
    assert ranked_list(v1, "ranking") == [3, 1, 2]
    assert ranked_list(v2, "ranking") == [5, 6]
    assert ranked_list({"predictions": [0.1]}, "ranking") is None
    assert ranked_list({"ranking": [{"id": 1}]}, "ranking") is None, "items must be ids"


def test_the_merged_list_replaces_the_original_where_it_was() -> None:
    v1: dict[str, Any] = {"predictions": [{"ranking": [3, 1, 2], "model": "m"}]}
    assert replace_ranked_list(v1, "ranking", [9, 8]) == {"predictions": [{"ranking": [9, 8], "model": "m"}]}
    v2: dict[str, Any] = {
        "outputs": [{"name": "ranking", "datatype": "INT64", "shape": [3], "data": [5, 6, 7]}]
    }
    merged = replace_ranked_list(v2, "ranking", [7, 5])
    assert merged["outputs"][0]["data"] == [7, 5] and merged["outputs"][0]["shape"] == [2]
    assert v2["outputs"][0]["data"] == [5, 6, 7], "the original is not changed"
