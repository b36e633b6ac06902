"""RFC 6902 JSON patches as the apiserver applies them, for the in-memory apiserver (`fake`).

Only what the apiserver does matters here: the operations apply in order to a copy, and any
that cannot (a failed `test`, a path that is not there) refuses the whole patch with the
apiserver's 422, whose message says no more than the one below.
"""

from __future__ import annotations

import copy
from typing import Any

from ._protocol import KubeError, Obj

REJECTED = "the server rejected our request due to an error in our request"
"""The apiserver's whole message for a JSON patch it cannot apply (a failed `test` included)."""


def apply_json_patch(target: Obj, operations: list[Obj]) -> None:
    """Applies `operations` to `target` in place (pass a copy: a refused patch leaves it half done)."""
    for operation in operations:
        _apply_operation(target, operation)


def _apply_operation(target: Obj, operation: Obj) -> None:
    """One RFC 6902 operation in place, on an object's key or a list's index. What the apiserver
    refuses (a failed `test`, a missing path) is its 422, whose message says no more than this one."""
    op, path = operation["op"], operation["path"]
    *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]
    node: Any = target
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else _item(node, part)
    if op not in ("add", "test", "remove", "replace"):
        raise KubeError(400, "BadRequest", f"JSON patch operation {op!r} not supported by the fake")
    refused = KubeError(422, "Unprocessable Entity", REJECTED)
    if isinstance(node, list):
        _apply_to_list(node, op, last, operation.get("value"), refused)
        return
    if not isinstance(node, dict):
        raise refused
    if op == "add":
        node[last] = copy.deepcopy(operation["value"])
    elif last not in node or (op == "test" and node[last] != operation["value"]):
        raise refused
    elif op == "remove":
        del node[last]
    elif op == "replace":
        node[last] = copy.deepcopy(operation["value"])


def _apply_to_list(node: list[Any], op: str, last: str, value: Any, refused: KubeError) -> None:
    """An index of a list: `add` inserts before it (`-`: appends), the others need it present."""
    if op == "add" and last == "-":
        node.append(copy.deepcopy(value))
        return
    index = int(last) if last.isdigit() else -1
    if not 0 <= index < len(node) + (op == "add"):
        raise refused
    if op == "add":
        node.insert(index, copy.deepcopy(value))
    elif op == "test" and node[index] != value:
        raise refused
    elif op == "remove":
        del node[index]
    elif op == "replace":
        node[index] = copy.deepcopy(value)


def _item(node: Any, part: str) -> Any:
    return node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else None
