"""How large a ModelRollout may grow: the caps that keep it far below etcd's 1.5 MiB per object.

Whatever the input (a spec with every list at its maximum, a Prometheus answering with a 200 KB
error page), the object stays well under 256 KiB: the spec's lists, maps and strings are capped
in the CRD (and by the pydantic models, with the same limits), the operator cuts every
explanation before it reaches status or an Event, and `status_bounds` holds the whole status
under `STATUS_MAX_BYTES`. The README's "Size limits" section lists these numbers.
"""

from __future__ import annotations

import json
from typing import Any

STATUS_MAX_BYTES = 96 * 1024
"""The status as the apiserver stores it (compact JSON) never exceeds this."""
STATUS_HEADROOM_BYTES = 4 * 1024
"""Kept free below `STATUS_MAX_BYTES` when the decided status is bounded: the scale fields
(`replicas`, `selector`) and kopf's bookkeeping are written beside it afterwards."""

MESSAGE_MAX_LENGTH = 1024
"""Characters of a message a person reads: `status.message`, `status.analysis.message`, a
metric's `explanation`, a condition's message, an Event's message, an action's result."""
REASON_MAX_LENGTH = 256
"""Characters of a history or lineage entry's `reason`, and of the explanations kept with a
lineage entry's metrics (the full one was in status and in an Event when it was decided)."""
LAST_RESORT_TEXT_LENGTH = 64
"""Every text is cut to this when nothing else brings the status under its bound."""
CONFIGURATION_ERROR_MAX_LENGTH = 64
"""A metric's `configurationError` is a reason name (`MetricNotFound`)."""

PARAMETERS_MAX_KEYS = 32
"""Keys of a version's `parameters` (copied into its lineage entry)."""
PARAMETER_KEY_MAX_LENGTH = 63
PARAMETER_VALUE_MAX_LENGTH = 256
"""Characters of a string value of `parameters` (numbers and booleans are small anyway)."""

PENDING_EVENTS_MAX = 8
"""Events of one transition kept in the pending-events annotation (`controller.outbox`)."""
PENDING_EVENT_MESSAGE_MAX_LENGTH = 512
"""Characters of a message kept in the pending-events annotation."""

ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and an ellipsis (so a reader sees it
    was cut) in exactly `limit` characters. Cutting twice changes nothing."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


_ESCAPED_BY_GO = ("<", ">", "&", "\u2028", "\u2029")
"""Characters Go's encoding/json writes as six-byte `\\u` escapes (the apiserver's encoder)."""


def stored_size(value: Any) -> int:
    """Bytes of `value` as compact JSON, counting the characters the apiserver escapes (and
    Python does not) at their escaped size: never less than what etcd stores."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode()) + 5 * sum(text.count(char) for char in _ESCAPED_BY_GO)
