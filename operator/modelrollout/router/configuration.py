"""The ConfigMap `<rollout>-router` read into a `RouterConfig`, or refused with why.

A refused payload never replaces the configuration being served: the router keeps its last good
one, logs the message and counts the refusal, so a typo in the ConfigMap (or an operator of a
newer release writing a schema this router does not know) cannot take the model down.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..api.router_config import CONFIG_KEY, SCHEMA_VERSION, RouterConfig


class ConfigError(ValueError):
    """The ConfigMap's payload cannot be served; the message says why."""


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_payload(text: str) -> RouterConfig:
    try:
        payload: Any = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"{CONFIG_KEY} is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"{CONFIG_KEY} must hold an object, not {type(payload).__name__}")
    schema = payload.get("schemaVersion", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ConfigError(
            f"schemaVersion {schema!r} is not one this router knows ({SCHEMA_VERSION}); "
            "upgrade the router or write that schema"
        )
    try:
        return RouterConfig.model_validate(payload)
    except ValidationError as error:
        raise ConfigError(_validation_message(error)) from None


def parse_config_map(config_map: dict[str, Any]) -> RouterConfig:
    data = config_map.get("data") or {}
    text = data.get(CONFIG_KEY)
    if not isinstance(text, str):
        name = (config_map.get("metadata") or {}).get("name")
        raise ConfigError(f"ConfigMap {name} has no data key {CONFIG_KEY!r}")
    return parse_payload(text)
