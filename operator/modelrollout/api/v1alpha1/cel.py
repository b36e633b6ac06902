"""One CEL rule of the CRD (`x-kubernetes-validations`) and the small helpers that write them."""

from __future__ import annotations

from dataclasses import dataclass

from .durations import DURATION_PATTERN


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` entry."""

    rule: str
    message: str
    """Shown by `kubectl apply` after the field path; pydantic raises the same text."""
    field_path: str | None = None
    """Where the apiserver reports the error, relative to `self` (e.g. `.candidate.version`)."""
    reason: str | None = None
    """`FieldValueRequired` or `FieldValueForbidden`; Invalid when None. (Not `FieldValueDuplicate`:
    the apiserver prints that one without the message.)"""

    def to_schema(self) -> dict[str, str]:
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


def quoted(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


def given_durations(check: str, *fields: str) -> str:
    """`check` on duration strings, skipped when one is absent or malformed.

    A malformed duration already fails the field's `pattern` with a clear message; without the
    guard, `duration()` would add a "type conversion error" for every rule that reads it.
    """
    present = " && ".join(f"has({field}) && {field}.matches(r'{DURATION_PATTERN}')" for field in fields)
    return f"!({present}) || ({check})"


def forbidden(field_path: str, rule: str, message: str) -> CelRule:
    """A rule refusing a field where it does not apply."""
    return CelRule(rule=rule, message=message, field_path=field_path, reason="FieldValueForbidden")


def spoken(words: list[str], last: str) -> str:
    """`a`, `a or b`, `a, b or c`: a list as a sentence says it."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
