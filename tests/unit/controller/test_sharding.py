"""Sharding by label selector: `--selector` reads kubectl's `-l` syntax, an operator serves only
the ModelRollouts it selects, and each shard holds its own finalizer, since kopf removes its
finalizer from every object none of its handlers select (two shards sharing one name would take
each other's off)."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from modelrollout.controller.handlers import Runtime, configure, serves
from modelrollout.controller.main import parse_settings
from modelrollout.controller.settings import OperatorSettings
from modelrollout.controller.shards import (
    UNSHARDED_FINALIZER,
    foreign_finalizers,
    release_foreign_finalizers,
    shard_finalizer,
)
from modelrollout.k8s import FakeKubeClient, KubeError, label_selector

SELECTS = [
    ("shard=a", {"shard": "a"}, True),
    ("shard==a", {"shard": "a"}, True),
    ("shard = a", {"shard": "a", "team": "x"}, True),
    ("shard=a", {"shard": "b"}, False),
    ("shard=a", {}, False),
    ("shard!=a", {"shard": "b"}, True),
    ("shard!=a", {}, True),  # as the apiserver: a missing key is "not a"
    ("shard!=a", {"shard": "a"}, False),
    ("shard in (a, b)", {"shard": "b"}, True),
    ("shard in (a,b)", {"shard": "c"}, False),
    ("shard in (a,b)", {}, False),
    ("shard notin (a,b)", {"shard": "c"}, True),
    ("shard notin (a,b)", {}, True),
    ("shard notin (a,b)", {"shard": "a"}, False),
    ("shard", {"shard": ""}, True),
    ("shard", {"team": "x"}, False),
    ("!shard", {"team": "x"}, True),
    ("!shard", {"shard": "a"}, False),
    ("example.com/shard=a,tier notin (gpu),!legacy", {"example.com/shard": "a", "tier": "cpu"}, True),
    ("example.com/shard=a,tier notin (gpu),!legacy", {"example.com/shard": "a", "tier": "gpu"}, False),
    ("shard=a,!legacy", {"shard": "a", "legacy": "true"}, False),
    ("shard=", {"shard": ""}, True),
    ("", {"anything": "x"}, True),
]


@pytest.mark.parametrize(("text", "labels", "selected"), SELECTS)
def test_a_selector_selects_the_labels_kubectl_would(
    text: str, labels: dict[str, str], selected: bool
) -> None:
    assert label_selector(text)(labels) is selected


@pytest.mark.parametrize(
    "text",
    ["shard in (a", "shard in ()", "shard=a=b", "=a", "shard in a", "a b", "shard>1", "-bad=x", "shard=a,,"],
)
def test_a_malformed_selector_is_refused(text: str) -> None:
    with pytest.raises(KubeError):
        label_selector(text)


def test_the_selector_flag_is_kept_and_a_bad_one_stops_the_operator_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_settings(["-n", "ml"]).selector is None
    assert parse_settings(["-n", "ml", "--selector", "shard in (a,b)"]).selector == "shard in (a,b)"

    with pytest.raises(SystemExit) as exit_:
        parse_settings(["-n", "ml", "--selector", "shard in (a"])

    assert exit_.value.code == 2
    assert "--selector" in capsys.readouterr().err


def _memo(selector: str | None) -> Any:
    memo = kopf.Memo()
    memo["runtime"] = Runtime.__new__(Runtime)
    memo["runtime"].settings = OperatorSettings(namespaces=["ml"], selector=selector)
    return memo


def test_the_handlers_serve_only_the_rollouts_the_selector_selects() -> None:
    shard_a = _memo("shard=a")

    assert serves(labels={"shard": "a"}, memo=shard_a)
    assert not serves(labels={"shard": "b"}, memo=shard_a)
    assert not serves(labels={}, memo=shard_a)
    assert serves(labels={"shard": "b"}, memo=_memo(None))  # unsharded: every rollout


def test_each_shard_holds_a_finalizer_of_its_own_and_an_unsharded_operator_the_old_one() -> None:
    names = {selector: shard_finalizer(selector) for selector in (None, "shard=a", "shard=b")}

    assert names[None] == UNSHARDED_FINALIZER == "modelrollout.io/finalizer"
    assert len(set(names.values())) == 3
    assert shard_finalizer("shard = a") == names["shard=a"], "the same selector, written otherwise"
    for name in names.values():
        prefix, _, rest = name.partition("/")
        assert prefix == "modelrollout.io" and len(rest) <= 63


def test_kopf_is_told_the_shards_finalizer() -> None:
    settings = kopf.OperatorSettings()

    configure(settings=settings, memo=_memo("shard=a"))

    assert settings.persistence.finalizer == shard_finalizer("shard=a")


def test_an_operator_takes_off_the_finalizers_an_earlier_configuration_left_on_its_rollouts() -> None:
    own = shard_finalizer("shard=a")
    left = [UNSHARDED_FINALIZER, own, shard_finalizer("shard=old"), "example.com/keep"]

    assert foreign_finalizers(left, own) == [UNSHARDED_FINALIZER, shard_finalizer("shard=old")]
    assert foreign_finalizers([own, "example.com/keep"], own) == []


def test_the_leftover_finalizers_come_off_the_rollout_and_only_while_the_list_is_as_read() -> None:
    own = shard_finalizer("shard=a")
    read = [UNSHARDED_FINALIZER, own, "example.com/keep"]
    client = FakeKubeClient()
    client.add_rollout("ml", "scorer", {}, finalizers=read)

    release_foreign_finalizers(client, "ml", "scorer", read, own)

    assert client.get_rollout("ml", "scorer")["metadata"]["finalizers"] == [own, "example.com/keep"]

    release_foreign_finalizers(client, "ml", "scorer", read, own)  # a stale read: a 422, logged

    assert client.get_rollout("ml", "scorer")["metadata"]["finalizers"] == [own, "example.com/keep"]


def test_the_leftovers_come_off_even_when_kopf_appended_the_shards_own_finalizer_meanwhile() -> None:
    own = shard_finalizer("shard=a")
    read = ["example.com/keep", UNSHARDED_FINALIZER, shard_finalizer("shard=old")]
    client = FakeKubeClient()
    client.add_rollout("ml", "scorer", {}, finalizers=[*read, own])

    release_foreign_finalizers(client, "ml", "scorer", read, own)

    assert client.get_rollout("ml", "scorer")["metadata"]["finalizers"] == ["example.com/keep", own]
