"""fersk._core._sklearn_compat: the one module that imports scikit-learn's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import fersk
from fersk._core import _sklearn_compat

PACKAGE = Path(fersk.__file__).parent


def _private_sklearn_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            private_module = any(part.startswith("_") for part in node.module.split("."))
            names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or names:
                found.append(f"{node.module}: {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.startswith("sklearn") and "._" in a.name]  # fmt: skip
    return found


def test_no_other_module_imports_a_private_sklearn_name():
    offenders = {
        str(path.relative_to(PACKAGE)): _private_sklearn_imports(path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_sklearn_compat.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert _private_sklearn_imports(Path(_sklearn_compat.__file__))  # the check sees them


def test_every_name_it_promises_is_there():
    assert all(hasattr(_sklearn_compat, name) for name in _sklearn_compat.__all__)
    error = _sklearn_compat.InvalidParameterError("x")
    assert isinstance(error, ValueError) and isinstance(error, TypeError)
