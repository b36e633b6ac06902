"""Label selectors in kubectl's `-l` syntax, read as the apiserver reads them: the in-memory
apiserver filters with them, the watch caches decide from them whether they hold every object a
LIST with that selector would return, and `--selector` shards the operator with them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._protocol import KubeError

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}")
_VALUE = re.compile(rf"({_NAME})?")
_TOKEN = re.compile(r"\s*(!=|==|[=!(),<>]|[^\s!=(),<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    """`=`, `!=`, `in`, `notin`, `exists` or `!exists`."""
    value: str = ""
    """The value of `=` and `!=`."""
    values: frozenset[str] = frozenset()
    """The set of `in` and `notin`."""

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        if self.operator in ("in", "notin"):
            return (self.key in labels and labels[self.key] in self.values) == (self.operator == "in")
        return (labels.get(self.key) == self.value) == (self.operator == "=")


def requirements(text: str) -> list[Requirement]:
    """`a=b`, `a==b`, `a!=b`, `a in (b,c)`, `a notin (b,c)`, `a`, `!a`, comma-separated (all must
    hold); a 400, as from the apiserver, for anything else (`>`/`<` included: no label the
    operator reads is a number)."""
    tokens = _tokens(text)
    found: list[Requirement] = []
    while tokens:
        found.append(_requirement(tokens, text))
        if tokens:
            _expect(tokens, ",", text)
            if not tokens:
                raise _invalid(text, "a requirement after the last ','")
    return found


def selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """The predicate of a selector's text: whether an object's labels are selected."""
    parsed = requirements(text)
    return lambda labels: all(requirement.holds(labels) for requirement in parsed)


def canonical(text: str) -> str:
    """One spelling per selector (spaces, `==`, order and set order aside), so two texts that
    select alike compare equal."""
    spelled = []
    for found in requirements(text):
        if found.operator in ("exists", "!exists"):
            spelled.append(("!" if found.operator == "!exists" else "") + found.key)
        elif found.operator in ("in", "notin"):
            spelled.append(f"{found.key} {found.operator} ({','.join(sorted(found.values))})")
        else:
            spelled.append(f"{found.key}{found.operator}{found.value}")
    return ",".join(sorted(spelled))


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        assert match is not None  # every character not a space starts one of the alternatives
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _requirement(tokens: list[str], text: str) -> Requirement:
    if tokens[0] == "!":
        tokens.pop(0)
        return Requirement(_key(tokens, text), "!exists")
    key = _key(tokens, text)
    if not tokens or tokens[0] == ",":
        return Requirement(key, "exists")
    operator = tokens.pop(0)
    if operator in ("=", "==", "!="):
        value = "" if not tokens or tokens[0] == "," else tokens.pop(0)
        return Requirement(key, "!=" if operator == "!=" else "=", _value(value, text))
    if operator in ("in", "notin"):
        _expect(tokens, "(", text)
        values: set[str] = set()
        while tokens and tokens[0] != ")":
            values.add(_value("" if tokens[0] == "," else tokens.pop(0), text))
            if tokens and tokens[0] == ",":
                tokens.pop(0)
        _expect(tokens, ")", text)
        if not values:
            raise _invalid(text, f"'{operator}' needs at least one value")
        return Requirement(key, operator, values=frozenset(values))
    raise _invalid(text, f"{operator!r} after {key!r} (=, ==, !=, in, notin or ',' expected)")


def _key(tokens: list[str], text: str) -> str:
    key = tokens.pop(0) if tokens else ""
    if not _KEY.fullmatch(key) or len(key.rpartition("/")[0]) > 253:
        raise _invalid(text, f"{key!r} is not a label key")
    return key


def _value(value: str, text: str) -> str:
    if not _VALUE.fullmatch(value):
        raise _invalid(text, f"{value!r} is not a label value")
    return value


def _expect(tokens: list[str], wanted: str, text: str) -> None:
    if not tokens or tokens.pop(0) != wanted:
        raise _invalid(text, f"{wanted!r} expected")


def _invalid(text: str, why: str) -> KubeError:
    return KubeError(400, "BadRequest", f"invalid label selector {text!r}: {why}")
