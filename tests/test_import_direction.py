"""Domains that build on each other import one way only: ``review`` (the lifecycle) builds on
``feedback`` (the record, its filter, the Twilio resource), which never imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import thumbs

PACKAGE = Path(thumbs.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_feedback_never_imports_review() -> None:
    files = sorted((PACKAGE / "feedback").glob("*.py"))
    assert files
    offending = {
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if name == "thumbs.review" or name.startswith("thumbs.review.")
    }
    assert offending == set()
