"""The package's layers import only downwards, and ``import fersk`` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fersk"

#: Layers from the bottom up; a module may import its own layer and the ones below.
LAYERS = [
    ("io", {"io"}),
    (
        "core",
        {
            "batch",
            "cache",
            "base",
            "layout",
            "pipeline_tools",
            "fit_progress",
            "_sklearn_compat",
            "environment",
        },
    ),
    ("landmarks", {"landmarks"}),
    (
        "features",
        {"geometry", "clarity", "routing", "subject", "temporal", "preprocess", "metrics"},
    ),
    ("datasets", {"datasets"}),
    ("video", {"video"}),
]


def _layer(module: str) -> int | None:
    top = module.split(".")[0]
    for rank, (_, members) in enumerate(LAYERS):
        if top in members:
            return rank
    return None  # the top of the package (study, cli, demo, ...): may import anything


def _imports(path: Path) -> list[str]:
    """The fersk modules a source file imports (absolute names without 'fersk.')."""
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
            found.append(name or "")
        elif isinstance(node, ast.Import):
            found += [a.name[len("fersk.") :] for a in node.names if a.name.startswith("fersk.")]
    return [name for name in found if name]


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = _layer(module)
        if own is None:
            continue
        for target in _imports(path):
            rank = _layer(target)
            rank = len(LAYERS) if rank is None else rank  # the package's top: above all
            if rank > own:
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_the_io_layer_imports_no_estimator():
    for path in (PACKAGE / "io").glob("*.py"):
        source = path.read_text()
        assert "sklearn" not in source and "torch" not in source, path.name


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
