"""PromQL query templates: `{{variable}}` substitution that cannot change a query's structure.

Users write templates such as `sum(rate(x{version="{{version}}"}[{{interval}}]))`. Label values
(model, version, namespace, name, ...) are substituted *escaped for a PromQL double-quoted string*,
so a value holding `"`, `\\`, a newline or `"}` stays inside the string literal it was put in and
cannot add matchers or operators. Put variables inside double quotes; outside quotes a value is
not a string and the escaping cannot protect it. `{{interval}}` is a duration the operator renders
(e.g. `30s`), not user text.

Variables: `{{namespace}}`, `{{model}}`, `{{name}}` (the ModelRollout's name), `{{version}}` (the
version being measured), `{{stable_version}}`, `{{candidate_version}}`, `{{interval}}`.
Spaces inside the braces are allowed (`{{ version }}`, as Flagger writes them); an unknown
variable is an error rather than silently left in the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..api.v1alpha1 import format_duration

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_REGEX_METACHARACTERS = frozenset(r"\.+*?()|[]{}^$")


class TemplateError(ValueError):
    """A template refers to a variable that does not exist."""


def escape_label_value(value: str) -> str:
    """`value` as the content of a PromQL double-quoted string (Go escape rules)."""
    escaped: list[str] = []
    for character in value:
        if character in _STRING_ESCAPES:
            escaped.append(_STRING_ESCAPES[character])
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\x{ord(character):02x}")
        else:
            escaped.append(character)
    return "".join(escaped)


def escape_regex_literal(value: str) -> str:
    """`value` matched literally inside an RE2 regex (`=~`), then escaped as string content."""
    quoted = "".join(f"\\{c}" if c in _REGEX_METACHARACTERS else c for c in value)
    return escape_label_value(quoted)


@dataclass(frozen=True)
class TemplateContext:
    """The values one rendering substitutes; `version` is the version being measured."""

    namespace: str
    model: str
    name: str
    version: str
    stable_version: str
    candidate_version: str
    interval: float
    """Seconds; rendered as a Prometheus duration."""

    def variables(self) -> dict[str, str]:
        labels = {
            "namespace": self.namespace,
            "model": self.model,
            "name": self.name,
            "version": self.version,
            "stable_version": self.stable_version,
            "candidate_version": self.candidate_version,
        }
        rendered = {key: escape_label_value(value) for key, value in labels.items()}
        rendered["interval"] = format_duration(self.interval)
        return rendered


def render(template: str, context: TemplateContext) -> str:
    """The template with every `{{variable}}` replaced; TemplateError names an unknown one."""
    variables = context.variables()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise TemplateError(f"unknown template variable {{{{{name}}}}}; known: {known}")
        return variables[name]

    return _VARIABLE.sub(substitute, template)
