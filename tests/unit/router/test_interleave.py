"""Team-draft interleaving on hand-computed examples: the merge and the credit of clicks."""

from __future__ import annotations

import random
from collections.abc import Iterator

from modelrollout.router.interleave import FIRST, SECOND, credit, seeded_coin, team_draft


def _coins(*flips: bool) -> Iterator[bool]:
    return iter(flips)


def test_team_draft_merges_by_turns_and_coin_flips_on_ties() -> None:
    first = ["a1", "a2", "a3", "a4"]
    second = ["b1", "a1", "b2", "b3"]
    coins = _coins(True, False)
    merged = team_draft(first, second, 4, lambda: next(coins))
    # tie 0-0, coin to the first team: a1; first ahead, the second picks b1; tie 1-1, coin to the
    # second: its a1 is taken, so b2; the second ahead: the first picks a2.
    assert merged == [("a1", FIRST), ("b1", SECOND), ("b2", SECOND), ("a2", FIRST)]


def test_a_team_out_of_new_items_lets_the_other_fill_the_list() -> None:
    coins = _coins(False, True, True)
    merged = team_draft([1, 2], [2, 1, 3, 4], 4, lambda: next(coins, True))
    # tie, coin to the second: 2; the first picks 1; tie, coin to the first: nothing new left, so
    # the second picks 3, then 4.
    assert merged == [(2, SECOND), (1, FIRST), (3, SECOND), (4, SECOND)]


def test_the_merged_list_is_capped_at_its_length_and_never_repeats() -> None:
    rng = random.Random(3)
    merged = team_draft(list(range(20)), list(range(19, -1, -1)), 10, lambda: rng.random() < 0.5)
    items = [item for item, _ in merged]
    assert len(items) == 10 and len(set(items)) == 10


def test_the_same_impression_id_draws_the_same_coins() -> None:
    a = [f"a{i}" for i in range(10)]
    b = [f"b{i}" for i in range(10)]
    assert team_draft(a, b, 10, seeded_coin("imp-1")) == team_draft(a, b, 10, seeded_coin("imp-1"))
    runs = {tuple(team_draft(a, b, 10, seeded_coin(f"imp-{i}"))) for i in range(20)}
    assert len(runs) > 1, "different impressions draw different coins"


def test_clicks_credit_the_team_that_placed_the_item_more_clicks_win_equal_ties() -> None:
    teams = {"a1": FIRST, "b1": SECOND, "b2": SECOND, "a2": FIRST}
    assert credit(teams, ["b1", "b2"]) == SECOND
    assert credit(teams, ["a2"]) == FIRST
    assert credit(teams, ["a1", "b1"]) is None
    assert credit(teams, []) is None
    assert credit(teams, ["unknown", "a1", "a1"]) == FIRST, "unknown items are ignored, repeats count once"
