"""Clicks through the router's own team draft and credit, counted as its wins counter counts them,
then judged by the operator's test: the whole path from a click to a verdict.

The analysis layer never imports the router; this test joins the two as the operator will (the
router's counters in between)."""

from __future__ import annotations

import random
from collections import Counter

from modelrollout.analysis import InterleavingCounts, InterleavingSettings, assess_interleaving
from modelrollout.api.v1alpha1 import Verdict
from modelrollout.router.interleave import credit, seeded_coin, team_draft

STABLE, CANDIDATE = "v1", "v2"
VERSIONS = (STABLE, CANDIDATE)  # the router's convention: the stable is the first team


def _winner(teams: dict[object, int], clicks: list[object]) -> str:
    """The label the router's wins counter gets for one impression."""
    team = credit(teams, clicks)
    return "tie" if team is None else VERSIONS[team]


def _counts(labels: Counter[str]) -> InterleavingCounts:
    return InterleavingCounts(labels[CANDIDATE], labels[STABLE], labels["tie"])


def test_hand_computed_click_patterns() -> None:
    stable, candidate = ["a", "b", "c", "d"], ["b", "e", "a", "f"]
    # The stable picks first: a; the candidate then its best new item, b; the stable's next new
    # one is c (b is taken); the candidate's is e.
    merged = team_draft(stable, candidate, 4, lambda: True)
    assert merged == [("a", 0), ("b", 1), ("c", 0), ("e", 1)]
    # The candidate first: b, then the stable a, the candidate e on the tie's coin, the stable c.
    assert team_draft(stable, candidate, 4, lambda: False) == [("b", 1), ("a", 0), ("e", 1), ("c", 0)]
    teams = dict(merged)
    patterns: list[tuple[list[object], str]] = [
        (["b"], CANDIDATE),
        (["a", "c"], STABLE),
        (["a", "e"], "tie"),
        ([], "tie"),
        (["b", "b", "zz"], CANDIDATE),  # an item counts once; one never shown is ignored
        (["a", "b", "e"], CANDIDATE),
        (["d"], "tie"),  # d was in the stable's list but not shown: no credit
    ]
    labels: Counter[str] = Counter()
    for clicks, expected in patterns:
        winner = _winner(teams, clicks)
        assert winner == expected, clicks
        labels[winner] += 1
    counts = _counts(labels)
    assert counts == InterleavingCounts(candidate_wins=3, stable_wins=1, ties=3)
    result = assess_interleaving(counts, InterleavingSettings())
    assert result.verdict is Verdict.INCONCLUSIVE, "four non-tied impressions decide nothing"
    assert result.win_share == 0.75 and result.preference == 2 / 7


def _simulate(relevant_to_candidate: float, impressions: int, seed: int) -> InterleavingCounts:
    """Users click the top-3 items they find relevant; a share of what they find relevant comes
    from the candidate's ranking (0.5: no preference)."""
    rng = random.Random(seed)
    labels: Counter[str] = Counter()
    for index in range(impressions):
        items = [f"i{n}" for n in range(20)]
        stable = rng.sample(items, 10)
        candidate = rng.sample(items, 10)
        merged = team_draft(stable, candidate, 10, seeded_coin(f"imp-{seed}-{index}"))
        teams = dict(merged)
        relevant = set(candidate[:3]) if rng.random() < relevant_to_candidate else set(stable[:3])
        clicks = [item for item, _ in merged if item in relevant and rng.random() < 0.6]
        labels[_winner(teams, clicks)] += 1
    return _counts(labels)


def test_users_who_prefer_the_candidate_make_it_pass() -> None:
    counts = _simulate(0.7, 1500, seed=1)
    assert counts.candidate_wins > counts.stable_wins
    assert assess_interleaving(counts, InterleavingSettings()).verdict is Verdict.PASS


def test_users_without_preference_decide_nothing() -> None:
    counts = _simulate(0.5, 1500, seed=2)
    result = assess_interleaving(counts, InterleavingSettings())
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.low < 0.5 < result.high
