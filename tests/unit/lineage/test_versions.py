"""Version lineage: recording, status round-trip, the cap, and the queries undo relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import LINEAGE_LIMIT, LineageEntry, MetricResult, ModelRolloutStatus, Verdict
from modelrollout.lineage import Outcome, UnknownVersionError, VersionLineage

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


def outcomes(lineage: VersionLineage) -> dict[str, str]:
    return {entry.version: entry.outcome for entry in lineage.to_status()}


def promoted_chain(count: int) -> VersionLineage:
    """v1 stable, then v2..v<count> each rolled out from and promoted over the previous one."""
    lineage = VersionLineage()
    lineage.record_stable("v1", {"lr": 0.1}, minute(0))
    for n in range(2, count + 1):
        lineage.record_candidate(f"v{n}", f"v{n - 1}", {"lr": n}, minute(10 * n))
        lineage.record_promoted(f"v{n}", minute(10 * n + 5))
    return lineage


def through_status(lineage: VersionLineage) -> VersionLineage:
    """What the next reconcile sees: the lineage written to status as JSON and read back."""
    status = ModelRolloutStatus(lineage=lineage.to_status())
    reloaded = ModelRolloutStatus.model_validate_json(status.model_dump_json(by_alias=True))
    return VersionLineage.from_status(reloaded.lineage)


class TestRecording:
    def test_first_version_is_stable_and_a_promotion_links_it_to_the_candidate(self) -> None:
        lineage = VersionLineage()
        lineage.record_stable("v7", {"lr": 0.1}, minute(0))
        lineage.record_candidate("v8", "v7", {"lr": 0.05}, minute(1))
        evidence = [MetricResult(name="latency", verdict=Verdict.PASS, candidate=0.12)]
        lineage.record_promoted("v8", minute(30), metrics=evidence)

        assert lineage.stable == "v8"
        v7, v8 = lineage.to_status()
        assert (v7.version, v7.outcome, v7.parent) == ("v7", "Stable", None)
        assert v7.created_at == "2025-03-01T12:00:00Z"
        assert (v8.parent, v8.outcome, v8.parameters) == ("v7", "Promoted", {"lr": 0.05})
        assert (v8.created_at, v8.promoted_at) == ("2025-03-01T12:01:00Z", "2025-03-01T12:30:00Z")
        assert v8.metrics == evidence

    def test_the_old_stable_keeps_its_outcome_after_promotion(self) -> None:
        lineage = promoted_chain(3)
        assert outcomes(lineage) == {"v1": "Stable", "v2": "Promoted", "v3": "Promoted"}

    def test_rollback_records_time_reason_and_metrics(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", None, minute(1))
        failing = [MetricResult(name="errors", verdict=Verdict.FAIL, e_value=40.0)]
        lineage.record_rolled_back("v2", minute(9), reason="errors: e-value 40 >= 20", metrics=failing)

        entry = lineage.entry("v2")
        assert entry.outcome == Outcome.ROLLED_BACK
        assert (entry.rolled_back_at, entry.reason, entry.metrics) == (
            "2025-03-01T12:09:00Z",
            "errors: e-value 40 >= 20",
            failing,
        )
        assert lineage.stable == "v1"

    def test_a_new_candidate_supersedes_the_one_still_progressing(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", None, minute(1))
        lineage.record_candidate("v3", "v1", None, minute(2))
        assert outcomes(lineage) == {"v1": "Stable", "v2": "Superseded", "v3": "Progressing"}
        assert lineage.entry("v2").reason == "superseded by v3"

    def test_abort_is_recorded(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", None, minute(1))
        lineage.record_aborted("v2", minute(3), reason="aborted by a person")
        assert lineage.entry("v2").outcome == Outcome.ABORTED

    def test_recording_twice_changes_nothing(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", {"lr": 1}, minute(1))
        lineage.record_candidate("v2", "v1", {"lr": 1}, minute(2))
        lineage.record_promoted("v2", minute(5))
        once = lineage.to_status()
        lineage.record_promoted("v2", minute(6))
        lineage.record_stable("v2", None, minute(7))
        assert lineage.to_status() == once

        lineage.record_candidate("v3", "v2", None, minute(8))
        lineage.record_rolled_back("v3", minute(9), reason="first")
        lineage.record_rolled_back("v3", minute(10), reason="second")
        rolled_back = lineage.entry("v3")
        assert (rolled_back.rolled_back_at, rolled_back.reason) == ("2025-03-01T12:09:00Z", "first")

    def test_rolling_out_a_known_version_again_updates_its_entry(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", {"lr": 0.1}, minute(1))
        lineage.record_rolled_back("v2", minute(5), reason="latency")
        lineage.record_candidate("v2", "v1", {"lr": 0.2}, minute(20))

        assert lineage.versions() == ["v1", "v2"]
        entry = lineage.entry("v2")
        assert (entry.outcome, entry.parameters, entry.reason, entry.rolled_back_at) == (
            "Progressing",
            {"lr": 0.2},
            "",
            None,
        )
        assert entry.created_at == "2025-03-01T12:01:00Z"

    def test_a_retried_version_takes_the_new_stable_as_parent(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_candidate("v2", "v1", None, minute(1))
        lineage.record_rolled_back("v2", minute(2))
        lineage.record_candidate("v3", "v1", None, minute(3))
        lineage.record_promoted("v3", minute(4))
        lineage.record_candidate("v2", "v3", None, minute(5))
        assert lineage.ancestors("v2") == ["v3", "v1"]

    def test_undo_to_an_older_version_keeps_its_history(self) -> None:
        lineage = promoted_chain(3)
        lineage.record_promoted("v2", minute(100), reason="undo")
        lineage.record_rolled_back("v3", minute(100), reason="undo to v2")

        assert lineage.stable == "v2"
        assert lineage.entry("v2").parent == "v1"
        assert lineage.ancestors("v3") == ["v2", "v1"]
        assert lineage.last_good() == "v2"
        assert lineage.promoted_versions() == ["v1", "v2"]
        assert through_status(lineage).stable == "v2"

    def test_the_stable_cannot_be_a_candidate_or_be_rolled_back(self) -> None:
        lineage = promoted_chain(2)
        with pytest.raises(ValueError, match="stable"):
            lineage.record_candidate("v2", "v2", None, minute(50))
        with pytest.raises(ValueError, match="stable"):
            lineage.record_rolled_back("v2", minute(50))

    def test_a_version_missing_from_status_is_added_when_recorded(self) -> None:
        lineage = promoted_chain(1)
        lineage.record_promoted("v2", minute(3))
        assert (lineage.entry("v2").parent, lineage.stable) == ("v1", "v2")

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="time zone"):
            VersionLineage().record_stable("v1", None, datetime(2025, 1, 1))

    def test_other_time_zones_are_written_in_utc(self) -> None:
        lineage = VersionLineage()
        lineage.record_stable("v1", None, datetime(2025, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
        assert lineage.entry("v1").created_at == "2025-01-01T12:00:00Z"


class TestQueries:
    def test_ancestors_are_nearest_first_and_the_path_starts_at_the_root(self) -> None:
        lineage = promoted_chain(3)
        lineage.record_candidate("v4", "v3", None, minute(50))
        assert lineage.ancestors("v4") == ["v3", "v2", "v1"]
        assert lineage.path_from_root("v4") == ["v1", "v2", "v3", "v4"]
        assert lineage.ancestors("v1") == []
        assert lineage.path_from_root("v1") == ["v1"]

    def test_last_good_walks_back_through_stables(self) -> None:
        lineage = promoted_chain(3)
        lineage.record_candidate("v4", "v3", None, minute(50))
        lineage.record_rolled_back("v4", minute(55))
        assert lineage.last_good() == "v3"
        assert lineage.last_good(before="v3") == "v2"
        assert lineage.last_good(before="v2") == "v1"
        assert lineage.last_good(before="v1") is None
        assert lineage.last_good(before="v4") == "v3"
        assert lineage.promoted_versions() == ["v1", "v2", "v3"]

    def test_an_empty_lineage_has_no_good_version(self) -> None:
        assert VersionLineage().last_good() is None
        assert VersionLineage().stable is None

    def test_unknown_versions_raise_a_key_error(self) -> None:
        lineage = promoted_chain(2)
        with pytest.raises(UnknownVersionError):
            lineage.ancestors("v9")
        with pytest.raises(KeyError):
            lineage.last_good(before="v9")
        assert "v2" in lineage
        assert "v9" not in lineage


class TestStatus:
    def test_round_trip_keeps_entries_stable_and_queries(self) -> None:
        lineage = promoted_chain(4)
        lineage.record_candidate("v5", "v4", {"uri": "s3://models/v5"}, minute(60))
        reloaded = through_status(lineage)
        assert reloaded.to_status() == lineage.to_status()
        assert reloaded.stable == "v4"
        assert reloaded.ancestors("v5") == ["v4", "v3", "v2", "v1"]

    def test_the_stable_is_the_version_that_last_became_stable(self) -> None:
        entries = [
            LineageEntry(version="v1", outcome="Stable", created_at="2025-01-01T00:00:00Z"),
            LineageEntry(version="v3", parent="v2", outcome="Promoted", promoted_at="2025-01-03T00:00:00Z"),
            LineageEntry(version="v2", parent="v1", outcome="Promoted", promoted_at="2025-01-02T00:00:00Z"),
        ]
        assert VersionLineage.from_status(entries).stable == "v3"

    def test_the_cap_drops_the_oldest_but_keeps_stable_and_progressing(self) -> None:
        lineage = promoted_chain(1)
        total = LINEAGE_LIMIT + 10
        for n in range(2, total):
            lineage.record_candidate(f"v{n}", "v1", None, minute(n))
            lineage.record_rolled_back(f"v{n}", minute(n))
        lineage.record_candidate(f"v{total}", "v1", None, minute(total))

        kept = [entry.version for entry in lineage.to_status()]
        assert len(kept) == LINEAGE_LIMIT
        assert kept == ["v1", *(f"v{n}" for n in range(12, total + 1))]
        assert through_status(lineage).stable == "v1"

    def test_a_parent_dropped_by_the_cap_still_ends_the_ancestry(self) -> None:
        lineage = through_status(promoted_chain(LINEAGE_LIMIT + 10))
        assert lineage.versions()[0] == "v11"
        assert lineage.ancestors("v12") == ["v11", "v10"]
        assert lineage.path_from_root("v12") == ["v10", "v11", "v12"]
        assert lineage.stable == f"v{LINEAGE_LIMIT + 10}"

    def test_an_edited_status_with_too_many_progressing_entries_still_fits(self) -> None:
        entries = [LineageEntry(version="v0", outcome="Stable", created_at="2025-01-01T00:00:00Z")]
        entries += [LineageEntry(version=f"c{n}", parent="v0", outcome="Progressing") for n in range(60)]
        kept = VersionLineage.from_status(entries).to_status()
        assert len(kept) == LINEAGE_LIMIT
        assert kept[0].version == "v0"
        assert kept[-1].version == "c59"

    def test_an_edited_status_with_a_parent_cycle_stays_usable(self) -> None:
        entries = [
            LineageEntry(version="a", parent="b", outcome="Stable"),
            LineageEntry(version="b", parent="a", outcome="RolledBack"),
        ]
        lineage = VersionLineage.from_status(entries)
        assert lineage.to_status() == entries
        assert lineage.ancestors("a") == ["b"]
        assert lineage.ancestors("b") == []

    def test_unreadable_timestamps_do_not_fail(self) -> None:
        entries = [
            LineageEntry(version="v1", outcome="Stable", created_at="yesterday"),
            LineageEntry(version="v2", parent="v1", outcome="Promoted", promoted_at="2025-01-02T00:00:00Z"),
        ]
        assert VersionLineage.from_status(entries).last_good() == "v2"


# Property tests.

_names = st.sampled_from([f"v{n}" for n in range(70)])
_times = st.none() | st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
_json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
_metrics = st.none() | st.lists(
    st.builds(
        MetricResult,
        name=st.text(min_size=1, max_size=8),
        verdict=st.sampled_from(Verdict),
        candidate=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    ),
    max_size=2,
)
_entries = st.builds(
    LineageEntry,
    version=_names,
    parent=st.none() | _names,
    parameters=st.none() | st.dictionaries(st.text(max_size=6), _json_scalars, max_size=3),
    outcome=st.sampled_from(Outcome).map(str),
    created_at=_times,
    promoted_at=_times,
    rolled_back_at=_times,
    reason=st.text(max_size=20),
    metrics=_metrics,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_entries, max_size=LINEAGE_LIMIT, unique_by=lambda entry: entry.version))
def test_any_status_lineage_round_trips_unchanged(entries: list[LineageEntry]) -> None:
    written = ModelRolloutStatus(lineage=entries).model_dump_json(by_alias=True)
    status = ModelRolloutStatus.model_validate_json(written)
    assert VersionLineage.from_status(status.lineage).to_status() == entries


_operations = st.lists(
    st.tuples(st.sampled_from(["candidate", "promote", "rollback", "abort", "stable"]), _names),
    max_size=90,
)


@settings(max_examples=60, deadline=None)
@given(_operations)
def test_recorded_histories_survive_status_and_stay_consistent(operations: list[tuple[str, str]]) -> None:
    lineage = VersionLineage()
    lineage.record_stable("v0", None, START)
    for step, (operation, version) in enumerate(operations, start=1):
        at = minute(step)
        if version == lineage.stable:
            continue
        if operation == "candidate":
            lineage.record_candidate(version, lineage.stable, {"step": step}, at)
        elif operation == "promote":
            lineage.record_promoted(version, at)
        elif operation == "rollback":
            lineage.record_rolled_back(version, at, reason="failed")
        elif operation == "abort":
            lineage.record_aborted(version, at)
        else:
            lineage.record_stable(version, None, at)

    written = lineage.to_status()
    assert len(written) <= LINEAGE_LIMIT
    kept = {entry.version for entry in written}
    assert lineage.stable in kept
    assert sum(entry.outcome == Outcome.PROGRESSING for entry in lineage.to_status()) <= 1
    assert {v for v in lineage.versions() if lineage.entry(v).outcome == Outcome.PROGRESSING} <= kept

    reloaded = through_status(lineage)
    assert reloaded.to_status() == written
    assert reloaded.stable == lineage.stable
    assert reloaded.last_good() == lineage.stable
    for version in reloaded.versions():
        chain = reloaded.ancestors(version)
        assert version not in chain
        assert len(chain) == len(set(chain))
