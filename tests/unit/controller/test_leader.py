"""Leader election: the pure rule of who may take the Lease, and two electors racing for one
Lease on the in-memory apiserver, on clocks the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelrollout.controller.leader import LeaderElector
from modelrollout.controller.leader_lease import LeaseRecord, may_take, read_lease, taken_lease
from modelrollout.controller.main import parse_settings
from modelrollout.controller.settings import LeaderElectionSettings
from modelrollout.k8s import FakeKubeClient, KubeError

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NS = "modelrollout-system"
SETTINGS = LeaderElectionSettings(
    enabled=True, lease_duration_seconds=15, renew_deadline_seconds=10, retry_period_seconds=2
)


def held_by(holder: str | None, renewed_seconds_ago: float) -> LeaseRecord:
    return LeaseRecord(holder, T0 - timedelta(seconds=renewed_seconds_ago), 15.0)


@pytest.mark.parametrize(
    ("record", "may"),
    [
        (held_by("b", 14.9), False),  # b renewed within its duration: b leads
        (held_by("b", 15.0), True),  # b let it expire
        (held_by("a", 1.0), True),  # a renewal of our own
        (held_by(None, 1.0), True),  # released
        (LeaseRecord("b", None, 15.0), True),  # never renewed
    ],
)
def test_a_lease_may_be_taken_when_free_expired_or_already_ours(record: LeaseRecord, may: bool) -> None:
    assert may_take(record, "a", T0) is may


def test_a_take_over_counts_a_transition_and_a_renewal_keeps_the_acquire_time() -> None:
    body = {
        "metadata": {"resourceVersion": "7"},
        "spec": {
            "holderIdentity": "b",
            "leaseDurationSeconds": 15,
            "acquireTime": "2029-12-31T23:00:00.000000Z",
            "renewTime": "2029-12-31T23:59:00.000000Z",
            "leaseTransitions": 2,
        },
    }
    taken = taken_lease(NS, "lease", read_lease(body), "a", 2.5, T0)
    assert taken["metadata"]["resourceVersion"] == "7", "conditional on what was read"
    assert taken["spec"] == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 3,
        "acquireTime": "2030-01-01T00:00:00.000000Z",
        "renewTime": "2030-01-01T00:00:00.000000Z",
        "leaseTransitions": 3,
    }
    renewed = taken_lease(NS, "lease", read_lease(taken), "a", 2.5, T0 + timedelta(seconds=2))
    assert renewed["spec"]["acquireTime"] == "2030-01-01T00:00:00.000000Z"
    assert renewed["spec"]["renewTime"] == "2030-01-01T00:00:02.000000Z"
    assert renewed["spec"]["leaseTransitions"] == 3


class Clocks:
    """One wall clock and one monotonic clock for both replicas; `sleep` moves both."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds


def elector(client: FakeKubeClient, clocks: Clocks, identity: str) -> LeaderElector:
    return LeaderElector(
        client, SETTINGS, identity, NS, clock=clocks.wall, sleep=clocks.sleep, monotonic=clocks.monotonic
    )


def test_one_replica_leads_and_the_other_takes_over_only_after_the_lease_expires() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    first, second = elector(client, clocks, "a"), elector(client, clocks, "b")

    assert first.try_take() is True, "no Lease yet: the first replica creates it"
    assert second.try_take() is False, "held and fresh"
    clocks.sleep(14)
    assert second.try_take() is False
    clocks.sleep(1)  # the leader died 15 s ago without renewing
    assert second.try_take() is True
    lease = client.get("Lease", NS, SETTINGS.lease_name)
    assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == ("b", 1)
    assert first.try_take() is False, "the old leader, back, finds it taken"


def test_of_two_replicas_seeing_the_lease_free_only_one_takes_it() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    elector(client, clocks, "a").try_take()
    clocks.sleep(20)  # a is gone; b and c both read the expired Lease
    expired = client.get("Lease", NS, SETTINGS.lease_name)
    client.replace_lease(
        NS, SETTINGS.lease_name, taken_lease(NS, "x", read_lease(expired), "b", 15, clocks.wall())
    )

    with pytest.raises(KubeError) as lost:  # c's write, from the same read
        client.replace_lease(
            NS, SETTINGS.lease_name, taken_lease(NS, "x", read_lease(expired), "c", 15, clocks.wall())
        )

    assert lost.value.status == 409
    assert client.get("Lease", NS, SETTINGS.lease_name)["spec"]["holderIdentity"] == "b"


def test_a_leader_that_cannot_renew_within_its_deadline_stops_before_the_lease_expires() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    leader = elector(client, clocks, "a")
    leader.acquire()
    client.fail("get_lease", KubeError(503, "ServiceUnavailable", "etcd"), times=None)

    reason = leader.renew_until_lost()

    assert "renew deadline" in reason
    assert clocks.seconds <= SETTINGS.renew_deadline_seconds + SETTINGS.retry_period_seconds
    assert clocks.seconds < SETTINGS.lease_duration_seconds, "before anyone else may take over"
    timeouts = [call.args["timeout"] for call in client.calls_to("get_lease")[1:]]
    assert timeouts == sorted(timeouts, reverse=True) and timeouts[-1] <= 2, "calls bounded by the deadline"


def test_a_leader_whose_lease_was_taken_stops_at_its_next_renewal() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    leader = elector(client, clocks, "a")
    leader.acquire()
    lease = client.get("Lease", NS, SETTINGS.lease_name)
    client.replace_lease(NS, SETTINGS.lease_name, {**lease, "spec": {**lease["spec"], "holderIdentity": "b"}})

    assert leader.renew_until_lost() == "another replica holds the Lease"
    assert clocks.seconds == SETTINGS.retry_period_seconds


def test_a_follower_waits_retrying_every_retry_period() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    elector(client, clocks, "a").try_take()
    follower = elector(client, clocks, "b")

    follower.acquire()

    assert 15 <= clocks.seconds <= 15.1, "taken as the leader's Lease expired"
    assert len(client.calls_to("get_lease")) == 1 + 9, "a look every retry period, and one at the expiry"


def test_the_flags_set_the_election_and_refuse_timings_that_overlap() -> None:
    settings = parse_settings(
        ["-n", "team", "--leader-elect", "--leader-election-namespace", NS,
         "--leader-elect-lease-duration", "3", "--leader-elect-renew-deadline", "2",
         "--leader-elect-retry-period", "0.5"]
    ).leader_election  # fmt: skip
    assert (settings.enabled, settings.namespace, settings.lease_name) == (True, NS, "modelrollout-operator")
    assert (settings.lease_duration_seconds, settings.renew_deadline_seconds) == (3, 2)
    assert parse_settings(["-n", "team", "--leader-elect"]).leader_election.namespace == "team"
    assert parse_settings(["-n", "team"]).leader_election.enabled is False
    with pytest.raises(SystemExit):
        parse_settings(["-n", "team", "--leader-elect", "--leader-elect-renew-deadline", "20"])


def test_a_released_lease_is_taken_at_the_next_try_and_never_renewed_again() -> None:
    client, clocks = FakeKubeClient(), Clocks()
    leader, follower = elector(client, clocks, "a"), elector(client, clocks, "b")
    leader.acquire()

    leader.release()

    assert leader.renew_until_lost() == "released", "no renewal takes it back"
    assert follower.try_take() is True, "at once, not after the lease duration"
    assert clocks.seconds == SETTINGS.retry_period_seconds
