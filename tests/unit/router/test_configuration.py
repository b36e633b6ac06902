"""The ConfigMap's payload: a valid one parses; a bad one, an unknown schema or a missing key is
refused with a message that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrollout.api.router_config import CONFIG_KEY, SCHEMA_VERSION
from modelrollout.router.configuration import ConfigError, parse_config_map


def _config_map(payload: Any, key: str = CONFIG_KEY) -> dict[str, Any]:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return {"metadata": {"name": "fraud-router", "resourceVersion": "7"}, "data": {key: text}}


GOOD = {
    "schemaVersion": SCHEMA_VERSION,
    "model": "fraud",
    "versions": [
        {"name": "v1", "service": "fraud-v1", "weight": 90},
        {"name": "v2", "service": "fraud-v2", "port": "http", "weight": 10, "timeoutSeconds": 2},
    ],
    "stickiness": {"header": "x-user-id"},
    "shadow": {"version": "v2", "sampleRate": 0.5},
}


def test_a_valid_config_map_parses() -> None:
    config = parse_config_map(_config_map(GOOD))
    assert config.model == "fraud"
    assert [(v.name, v.weight) for v in config.versions] == [("v1", 90.0), ("v2", 10.0)]
    assert config.versions[1].port == "http" and config.versions[1].timeout_seconds == 2.0
    assert config.shadow is not None and config.shadow.sample_rate == 0.5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({**GOOD, "schemaVersion": "modelrollout.io/router/v9"}, "schemaVersion 'modelrollout.io/router/v9'"),
        ("{not json", "not JSON"),
        ({**GOOD, "shadow": None, "versions": [{"name": "v1", "service": "s", "weight": 60}]}, "not 100"),
        ({**GOOD, "shadow": {"version": "v3"}}, "unknown versions ['v3']"),
        ({**GOOD, "colour": "blue"}, "colour"),
        ([1, 2], "an object"),
    ],
)
def test_a_bad_payload_is_refused_with_what_is_wrong(payload: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config_map(_config_map(payload))


def test_a_config_map_without_the_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=f"no data key {CONFIG_KEY!r}"):
        parse_config_map(_config_map(GOOD, key="other.json"))
