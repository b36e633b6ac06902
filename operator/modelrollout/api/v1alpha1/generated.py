"""One drift check for every generated file (the CRD, its reference, the chart's derived files).

They are committed so that users read and apply them without running Python; `make lint` runs
each generator with `--check` and fails on a difference. Sharing the check keeps the message
the same everywhere: what is stale, a diff bounded for CI logs, and the command that fixes it.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

__all__ = ["is_stale"]

DIFF_LINES = 80
"""Enough to see what changed; a regenerated file can differ in thousands of lines."""


def is_stale(path: Path, generated: str, remedy: str) -> bool:
    """Whether `path` differs from `generated`; if so, print a diff and `remedy` to stderr."""
    committed = path.read_text() if path.exists() else ""
    if committed == generated:
        return False
    diff = difflib.unified_diff(
        committed.splitlines(), generated.splitlines(), str(path), "generated", lineterm=""
    )
    print("\n".join(list(diff)[:DIFF_LINES]), file=sys.stderr)
    print(f"{path} is stale: run `{remedy}` and commit the result", file=sys.stderr)
    return True
