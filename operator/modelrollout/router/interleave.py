"""Team-draft interleaving: two versions' ranked lists merged into one the user sees, each item
credited to the team (version) that placed it, so clicks say which ranking users prefer.

Each round the team with fewer picks so far picks next (a coin decides a tie) and places its
highest-ranked item not yet in the list. When the team whose turn it is has nothing new left, the
other one keeps picking, so the list fills to its length as long as either ranking has items.
The coin is seeded by the impression id: an impression can be reproduced from its id alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Final

FIRST: Final = 0
SECOND: Final = 1

Item = Hashable
"""An item id from a ranked list (a string or a number in the JSON)."""
Coin = Callable[[], bool]
"""True: the first team picks on a tie."""


def seeded_coin(impression_id: str) -> Coin:
    rng = random.Random(impression_id)
    return lambda: rng.random() < 0.5


def _next_new(ranking: Sequence[Item], cursor: int, taken: set[Item]) -> tuple[Item | None, int]:
    """The highest-ranked item of `ranking` from `cursor` on not in `taken`, and the cursor after it."""
    while cursor < len(ranking):
        item = ranking[cursor]
        cursor += 1
        if item not in taken:
            return item, cursor
    return None, cursor


def team_draft(
    first: Sequence[Item], second: Sequence[Item], length: int, coin: Coin
) -> list[tuple[Item, int]]:
    """The merged list as (item, team) pairs, at most `length` long, no item twice."""
    rankings = (first, second)
    cursors = [0, 0]
    picks = [0, 0]
    taken: set[Item] = set()
    merged: list[tuple[Item, int]] = []
    while len(merged) < length:
        if picks[FIRST] != picks[SECOND]:
            team = FIRST if picks[FIRST] < picks[SECOND] else SECOND
        else:
            team = FIRST if coin() else SECOND
        item, cursors[team] = _next_new(rankings[team], cursors[team], taken)
        if item is None:
            team = 1 - team
            item, cursors[team] = _next_new(rankings[team], cursors[team], taken)
            if item is None:
                break
        taken.add(item)
        picks[team] += 1
        merged.append((item, team))
    return merged


def credit(teams: Mapping[Item, int], clicks: Iterable[Item]) -> int | None:
    """The team whose items were clicked more (each item once), None on a tie (no clicks too).
    Clicks on items the impression did not show are ignored."""
    counts = [0, 0]
    for item in set(clicks):
        team = teams.get(item)
        if team is not None:
            counts[team] += 1
    if counts[FIRST] == counts[SECOND]:
        return None
    return FIRST if counts[FIRST] > counts[SECOND] else SECOND
