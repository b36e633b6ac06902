"""`bounded_status`: the status the operator writes, held under `STATUS_MAX_BYTES`.

Counts are capped where lists grow (history 20, lineage 50, 32 metrics, 8 conditions); what
remains unbounded is text (an explanation quoting a Prometheus error page) and what each lineage
entry carries (the version's `parameters`, its metrics at decision time). So, in this order,
until the status fits:

1. every text is cut (`MESSAGE_MAX_LENGTH` for what describes the present, `REASON_MAX_LENGTH`
   for history and lineage);
2. lineage entries lose their metrics, oldest entry first: that evidence was in status and in an
   Event when it was decided, and the newest rollouts' evidence is what a person asks about;
3. lineage entries lose their `parameters`, oldest first, except the stable and the candidate
   under way (their parameters are in the spec anyway);
4. as a last resort every text is cut to `LAST_RESORT_TEXT_LENGTH` and the lineage keeps only
   versions, parents, outcomes and times. That skeleton (50 versions, 20 history entries, 32
   metrics' numbers) is under 40 KiB, so the bound always holds.

Every version stays listed: the lineage's graph (parents, the stable's path, the last good
version an undo returns to) never loses a node to this. Applying it twice changes nothing, so
the status digest the pending Events are staged for (`controller.outbox`) survives a rewrite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .enums import Outcome
from .limits import (
    CONFIGURATION_ERROR_MAX_LENGTH,
    LAST_RESORT_TEXT_LENGTH,
    MESSAGE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    STATUS_HEADROOM_BYTES,
    STATUS_MAX_BYTES,
    cut,
    stored_size,
)
from .status import ModelRolloutStatus

__all__ = ["bounded_status"]

Obj = dict[str, Any]


def bounded_status(
    status: ModelRolloutStatus, limit: int = STATUS_MAX_BYTES - STATUS_HEADROOM_BYTES
) -> ModelRolloutStatus:
    """`status` cut and shed (see the module docstring) until it is at most `limit` bytes."""
    dumped: Obj = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    cut_any = _cut_texts(dumped, MESSAGE_MAX_LENGTH, REASON_MAX_LENGTH)
    size = stored_size(dumped)
    if size <= limit and not cut_any:
        return status  # as it came: every reconcile writes one, and nearly all fit (no new model)
    if size > limit:
        size = _shed(dumped, "metrics", lambda entry: True, size, limit)
    if size > limit:
        keep = {dumped.get("stableVersion"), dumped.get("candidateVersion")}
        size = _shed(dumped, "parameters", lambda entry: entry["version"] not in keep, size, limit)
    if size > limit:
        _cut_texts(dumped, LAST_RESORT_TEXT_LENGTH, LAST_RESORT_TEXT_LENGTH)
        for entry in dumped.get("lineage", []):
            entry.pop("metrics", None)
            entry.pop("parameters", None)
    return ModelRolloutStatus.model_validate(dumped)


def _cut_texts(status: Obj, message_limit: int, reason_limit: int) -> bool:
    """Cut every free text to its limit; True when one was longer."""
    cut_any = False
    for owner, key, limit in _texts(status, message_limit, reason_limit):
        text = owner.get(key)
        if isinstance(text, str):
            owner[key] = cut(text, limit)
            cut_any = cut_any or owner[key] != text
    return cut_any


def _texts(status: Obj, message_limit: int, reason_limit: int) -> Iterator[tuple[Obj, str, int]]:
    """Every free text of a status: (the object holding it, its key, its limit)."""
    yield status, "message", message_limit
    yield status, "pausedReason", reason_limit
    analysis = status.get("analysis") or {}
    yield analysis, "message", message_limit
    for metric in analysis.get("metrics", []):
        yield metric, "explanation", message_limit
        yield metric, "configurationError", CONFIGURATION_ERROR_MAX_LENGTH
    for condition in status.get("conditions", []):
        yield condition, "message", message_limit
    yield status.get("lastAction") or {}, "result", message_limit
    for entry in status.get("history", []):
        yield entry, "reason", reason_limit
    for entry in status.get("lineage", []):
        yield entry, "reason", reason_limit
        for metric in entry.get("metrics") or []:
            yield metric, "explanation", reason_limit
            yield metric, "configurationError", CONFIGURATION_ERROR_MAX_LENGTH


def _shed(status: Obj, key: str, sheddable: Callable[[Obj], bool], size: int, limit: int) -> int:
    """Drops `key` from lineage entries, oldest first, until `size` is at most `limit`; returns
    the new size (each drop takes off the bytes of `"key":value,`)."""
    for entry in status.get("lineage", []):
        if size <= limit:
            break
        if key in entry and sheddable(entry) and entry.get("outcome") != Outcome.PROGRESSING.value:
            size -= stored_size({key: entry.pop(key)}) - 2 + 1
    return size
