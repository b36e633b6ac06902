"""A JSON merge patch from the old status to the new one, so stale map keys (a version that left
`weights`) are removed rather than merged back in."""

from __future__ import annotations

from typing import Any


def merge_patch(old: Any, new: Any) -> Any:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            patch[key] = merge_patch(old[key], value)
    return patch
