"""The folders are the layers: each imports only its own layer and the ones below.

The layers are the package's folders, from the bottom up (:data:`LAYERS`); the
modules at the package's top and the ``recipes`` folder are the apps, which may
import anything. Every module belongs to a layer or to the apps, no module
imports a layer above its own, the import graph has no circle, and only
``_core/_sklearn_compat.py`` touches scikit-learn's private modules.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fersk"

#: The folders of the package, from the bottom up.
LAYERS = [
    "io",
    "_core",
    "evaluation",
    "landmarks",
    "features",
    "cnn",
    "datasets",
    "models",
    "video",
]
#: The apps on top: the package's loose modules and these folders.
APP_FOLDERS = {"recipes"}
#: At most this many loose modules (``__init__`` included) at the package's top.
MAX_LOOSE = 6


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }


def _rank(module: str) -> int:
    """The layer of a module (``len(LAYERS)`` for the apps)."""
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else len(LAYERS)


def _imports(path: Path) -> list[str]:
    """The fersk modules a source file imports, anywhere in it (names without 'fersk.')."""
    tree = ast.parse(path.read_text())
    package = path.relative_to(PACKAGE).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                name = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("fersk."):
                name = node.module[len("fersk.") :]
            else:
                continue
            found.append(name or "__init__")
        elif isinstance(node, ast.Import):
            found += [a.name[len("fersk.") :] for a in node.names if a.name.startswith("fersk.")]
    return [name for name in found if name]


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The module an imported name is: itself, or its package's ``__init__``."""
    if name in modules:
        return name
    if f"{name}.__init__" in modules:
        return f"{name}.__init__"
    return name.rpartition(".")[0] or "__init__"


def test_every_module_is_in_a_layer_and_few_are_loose():
    modules = _modules()
    folders = {m.split(".")[0] for m in modules if "." in m}
    assert folders <= set(LAYERS) | APP_FOLDERS, folders - set(LAYERS) - APP_FOLDERS
    loose = sorted(m for m in modules if "." not in m)
    assert len(loose) <= MAX_LOOSE, loose


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for module, path in _modules().items():
        own = _rank(module)
        for target in _imports(path):
            if _rank(target) > own:
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_the_import_graph_has_no_circle():
    modules = _modules()
    graph = {
        m: {_resolve(t, modules) for t in _imports(p)} - {m}
        for m, p in modules.items()
        if not m.endswith("__init__")
    }
    # A package's __init__ only gathers names: its edges are its members'.
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(trail[trail.index(nxt) :] + [nxt]))
            elif nxt in graph and nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles


def test_only_sklearn_compat_imports_private_sklearn():
    private = re.compile(r"^\s*(from|import)\s+sklearn(\.\w+)*\._", re.M)
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "_sklearn_compat.py" and private.search(path.read_text())
    ]
    assert not offenders, offenders


def test_the_io_layer_imports_no_estimator():
    for path in (PACKAGE / "io").glob("*.py"):
        source = path.read_text()
        assert "sklearn" not in source and "torch" not in source, path.name


def test_a_planted_upward_import_is_caught(tmp_path, monkeypatch):
    """The checks above can fail: an io module importing a feature step is found."""
    fake = tmp_path / "fersk"
    (fake / "io").mkdir(parents=True)
    (fake / "io" / "bad.py").write_text("from ..features.geometry import PairwiseDistance\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="io.bad -> features.geometry"):
        test_no_module_imports_a_layer_above_its_own()


@pytest.mark.parametrize(
    "forbidden", ["torch", "scipy.stats", "sklearn", "fersk.datasets", "fersk.video", "cv2"]
)
def test_import_fersk_loads_nothing_heavy(forbidden):
    code = f"import sys, fersk; print({forbidden!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_load_on_first_use():
    code = "import fersk; print(fersk.LandmarkExtractor.__module__, len(dir(fersk)) > 10)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["fersk.landmarks.extractor", "True"]
