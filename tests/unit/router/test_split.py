"""The split's pure parts: weighted and sticky choices, stickiness that is monotone as the
candidate's weight grows, and segments that match before any weight."""

from __future__ import annotations

import random
from collections import Counter

from multidict import CIMultiDict

from modelrollout.api.router_config import HeaderMatch, Segment, Stickiness
from modelrollout.router.split import segment_version, sticky_choice, user_identity, weighted_choice

USERS = [f"user-{i}" for i in range(20_000)]


def _within_binomial(count: int, n: int, p: float, z: float = 4.0) -> bool:
    """`count` of `n` is within z standard deviations of n*p (z=4: a false alarm in 1 of ~16,000)."""
    sd = (n * p * (1 - p)) ** 0.5
    return abs(count - n * p) <= z * sd


def test_the_weighted_split_follows_the_weights_within_a_binomial_interval() -> None:
    rng = random.Random(7)
    weights = [("v1", 70.0), ("v2", 25.0), ("v3", 5.0)]
    n = 20_000
    counts = Counter(weighted_choice(weights, rng.random()) for _ in range(n))
    for version, weight in weights:
        assert _within_binomial(counts[version], n, weight / 100), (version, counts)


def test_a_zero_weight_is_never_chosen_and_a_full_one_always() -> None:
    rng = random.Random(1)
    draws = [rng.random() for _ in range(5_000)] + [0.0, 0.999999999]
    assert {weighted_choice([("v1", 100.0), ("v2", 0.0)], d) for d in draws} == {"v1"}
    assert {weighted_choice([("v1", 0.0), ("v2", 100.0)], d) for d in draws} == {"v2"}
    assert {sticky_choice([("v1", 0.0), ("v2", 100.0)], u) for u in USERS[:2000]} == {"v2"}


def test_the_sticky_split_follows_the_weights_within_a_binomial_interval() -> None:
    weights = [("v1", 80.0), ("v2", 20.0)]
    counts = Counter(sticky_choice(weights, user) for user in USERS)
    assert _within_binomial(counts["v2"], len(USERS), 0.20), counts


def test_a_user_keeps_its_version_while_the_weights_hold() -> None:
    weights = [("v1", 60.0), ("v2", 40.0)]
    first = {user: sticky_choice(weights, user) for user in USERS[:3000]}
    again = {user: sticky_choice(list(weights), user) for user in reversed(USERS[:3000])}
    assert first == again


def test_users_on_the_candidate_stay_there_as_its_weight_grows() -> None:
    steps = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0]
    on_candidate: set[str] = set()
    for candidate_weight in steps:
        weights = [("v1", 100.0 - candidate_weight), ("v2", candidate_weight)]
        now = {user for user in USERS if sticky_choice(weights, user) == "v2"}
        assert on_candidate <= now, (
            f"{len(on_candidate - now)} users left the candidate at {candidate_weight}%"
        )
        assert _within_binomial(len(now), len(USERS), candidate_weight / 100) or candidate_weight == 100
        on_candidate = now
    assert len(on_candidate) == len(USERS)


def test_with_three_versions_the_growing_one_keeps_its_users_and_the_held_one_its_share() -> None:
    before = [("v1", 80.0), ("v2", 10.0), ("v3", 10.0)]
    after = [("v1", 65.0), ("v2", 25.0), ("v3", 10.0)]
    moved_off_v2 = [u for u in USERS if sticky_choice(before, u) == "v2" and sticky_choice(after, u) != "v2"]
    assert moved_off_v2 == []
    on_v3 = sum(sticky_choice(after, u) == "v3" for u in USERS)
    assert _within_binomial(on_v3, len(USERS), 0.10)


def test_the_user_is_read_from_the_header_or_the_cookie() -> None:
    headers = CIMultiDict({"X-User-Id": "alice"})
    assert user_identity(Stickiness(header="x-user-id"), headers, {}) == "alice"
    assert user_identity(Stickiness(cookie="uid"), headers, {"uid": "bob"}) == "bob"
    assert user_identity(Stickiness(cookie="uid"), headers, {}) is None
    assert user_identity(Stickiness(header="x-other"), headers, {}) is None


def test_segments_match_every_header_and_the_cookie_first_match_wins() -> None:
    segments = [
        Segment(
            name="beta-eu",
            headers=[HeaderMatch(name="X-Tier", value="beta"), HeaderMatch(name="x-region", value="eu")],
            version="v2",
        ),
        Segment(name="staff", cookie=HeaderMatch(name="staff", value="1"), version="v3"),
        Segment(name="beta", headers=[HeaderMatch(name="x-tier", value="beta")], version="v1"),
    ]
    beta_eu = CIMultiDict({"x-tier": "beta", "X-Region": "eu"})
    assert segment_version(segments, beta_eu, {}) == "v2"
    assert segment_version(segments, CIMultiDict({"x-tier": "beta"}), {}) == "v1"
    assert segment_version(segments, CIMultiDict({"x-tier": "beta"}), {"staff": "1"}) == "v3"
    assert segment_version(segments, CIMultiDict({"x-tier": "Beta"}), {"staff": "0"}) is None
    assert segment_version([], beta_eu, {}) is None
