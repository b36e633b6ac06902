"""Equality-based label selectors, as the apiserver reads them: the in-memory apiserver filters
with them, and the watch caches decide from them whether they hold every object a LIST with
that selector would return."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._protocol import KubeError


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    """`=`, `!=`, `exists` or `!exists`."""
    value: str = ""

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        return (labels.get(self.key) == self.value) == (self.operator == "=")


def requirements(text: str) -> list[Requirement]:
    """`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated (all must hold). Set-based ones (`in`,
    `notin`) are a 400 here: the operator does not send them."""
    found: list[Requirement] = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        if " in " in raw or " notin " in raw or "(" in raw:
            raise KubeError(400, "BadRequest", f"set-based selector {raw!r} not supported")
        for operator in ("!=", "==", "="):
            if operator in raw:
                key, value = (side.strip() for side in raw.split(operator, 1))
                found.append(Requirement(key, "!=" if operator == "!=" else "=", value))
                break
        else:
            negated = raw.startswith("!")
            found.append(Requirement(raw.lstrip("!").strip(), "!exists" if negated else "exists"))
    return found


def selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """The predicate of a selector's text: whether an object's labels are selected."""
    parsed = requirements(text)
    return lambda labels: all(requirement.holds(labels) for requirement in parsed)
