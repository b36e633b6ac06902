"""Templates: a crafted label value stays inside its string literal and cannot change the query."""

from __future__ import annotations

import pytest

from modelrollout.metrics import (
    TemplateContext,
    TemplateError,
    escape_label_value,
    escape_regex_literal,
    render,
)

_GO_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}


def read_string_literal(text: str, opening: int) -> tuple[str, int]:
    """Decode the PromQL double-quoted string opening at `text[opening]` as Prometheus' lexer
    would; returns its value and the index just past the closing quote."""
    assert text[opening] == '"'
    value: list[str] = []
    index = opening + 1
    while text[index] != '"':
        if text[index] == "\n":
            raise AssertionError("a raw newline ends a PromQL string: the query would not parse")
        if text[index] == "\\":
            code = text[index + 1]
            if code == "x":
                value.append(chr(int(text[index + 2 : index + 4], 16)))
                index += 4
                continue
            value.append(_GO_ESCAPES[code])
            index += 2
            continue
        value.append(text[index])
        index += 1
    return "".join(value), index + 1


def context(**overrides: str) -> TemplateContext:
    values = {
        "namespace": "team-a",
        "model": "fraud-scorer",
        "name": "fraud",
        "version": "v8",
        "stable_version": "v7",
        "candidate_version": "v8",
    }
    values.update(overrides)
    return TemplateContext(interval=30, **values)


HOSTILE = [
    'v8"} or vector(1) #',
    'v8", version=~".*',
    "back\\slash\\",
    "new\nline",
    'quote"',
    '\\"}',
    "tab\tand\rreturn",
    "bell\x07 and del\x7f",
    "ünïcode ✓",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_version_stays_inside_its_string_literal(hostile: str) -> None:
    query = render(
        'sum(rate(requests_total{version="{{version}}", model="{{model}}"}[{{interval}}]))',
        context(version=hostile),
    )

    prefix = "sum(rate(requests_total{version="
    assert query.startswith(prefix)
    value, after = read_string_literal(query, len(prefix))

    assert value == hostile
    assert query[after:] == ', model="fraud-scorer"}[30s]))'


@pytest.mark.parametrize("hostile", HOSTILE)
def test_escaping_leaves_no_raw_quote_or_newline(hostile: str) -> None:
    escaped = escape_label_value(hostile)
    quotes = [index for index, character in enumerate(escaped) if character == '"']
    assert "\n" not in escaped and "\r" not in escaped
    assert all(_escaped_at(escaped, index) for index in quotes)


def _escaped_at(text: str, index: int) -> bool:
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 1


def test_spaces_inside_braces_are_allowed_as_flagger_writes_them() -> None:
    assert render('x{namespace="{{ namespace }}"}[{{ interval }}]', context()) == 'x{namespace="team-a"}[30s]'


def test_every_documented_variable_renders() -> None:
    rendered = render(
        "{{namespace}} {{model}} {{name}} {{version}} {{stable_version}} {{candidate_version}} {{interval}}",
        context(),
    )
    assert rendered == "team-a fraud-scorer fraud v8 v7 v8 30s"


def test_an_unknown_variable_is_an_error_not_left_in_the_query() -> None:
    with pytest.raises(TemplateError, match=r"\{\{verison\}\}"):
        render('x{version="{{verison}}"}', context())


def test_a_value_that_looks_like_a_variable_is_not_expanded_again() -> None:
    assert render('x{version="{{version}}"}', context(version="{{model}}")) == 'x{version="{{model}}"}'


def test_regex_literal_matches_the_value_literally() -> None:
    escaped = escape_regex_literal("a.b-v1+")
    value, _ = read_string_literal(f'"{escaped}"', 0)
    assert value == r"a\.b-v1\+"
