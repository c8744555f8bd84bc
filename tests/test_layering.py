"""The math core stays free of user-interface libraries (DESIGN: attention -> charts -> ui)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from golden_data import REPO_ROOT

ATTENTION_DIR = REPO_ROOT / "attention"
UI_LIBRARIES = frozenset({"streamlit", "plotly", "pandas"})

# The layers, bottom to top: a module may import its own layer and the layers below it.
LAYERS = ("attention", "lessons", "charts", "ui", "screens")
# The libraries each pure layer must never load (DESIGN.md, "Layers, one direction").
FORBIDDEN = {
    "attention": ("streamlit", "plotly", "pandas"),
    "lessons": ("streamlit", "plotly"),
    "charts": ("streamlit",),
}

PROBE = """
import importlib, json, pkgutil, sys
watched = ("streamlit", "plotly", "pandas")
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in watched if m in sys.modules)))
"""


def loaded_after_importing(package: str) -> list[str]:
    """The UI libraries a fresh interpreter has loaded after importing every module of `package`."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, package],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_pure_layer_loads_no_forbidden_library(layer):
    loaded = set(loaded_after_importing(layer))
    assert loaded.isdisjoint(FORBIDDEN[layer]), f"{layer} loads {sorted(loaded)}"


def layer_of(path: Path) -> str:
    """The layer a source file belongs to: its top folder, or "screens" for app.py and pages/."""
    top = path.relative_to(REPO_ROOT).parts[0]
    return top if top in LAYERS else "screens"


def layer_sources() -> list[Path]:
    files = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]
    for layer in LAYERS[:-1]:
        files += sorted((REPO_ROOT / layer).rglob("*.py"))
    return files


def project_imports(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import of one of the project's layers."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in LAYERS]
    return found


@pytest.mark.parametrize("path", layer_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_imports_point_down_only(path):
    rank = LAYERS.index(layer_of(path))
    upward = [
        f"{line}: {package}"
        for line, package in project_imports(path.read_text(encoding="utf-8"))
        if LAYERS.index(package) > rank
    ]
    assert upward == [], f"{path.name} imports a layer above its own"


@pytest.mark.parametrize("path", layer_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_forbidden_library_in_pure_layer_sources(path):
    forbidden = FORBIDDEN.get(layer_of(path), ())
    found = ui_imports(path.read_text(encoding="utf-8"), str(path))
    assert [f for f in found if f.split(": ")[1].split(".")[0] in forbidden] == []


def test_project_import_checker_finds_layers():
    source = "import attention\nfrom ui.page import start\nimport os\nfrom charts import x"
    assert project_imports(source) == [(1, "attention"), (2, "ui"), (4, "charts")]


def ui_imports(source: str, filename: str = "<source>") -> list[str]:
    """Every import of a UI library in `source`, as 'line: module'."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            modules = [node.args[0].value]
        found += [
            f"{node.lineno}: {module}" for module in modules if module.split(".")[0] in UI_LIBRARIES
        ]
    return found


def attention_sources() -> list[Path]:
    return sorted(ATTENTION_DIR.rglob("*.py"))


def test_attention_package_has_sources():
    names = {path.name for path in attention_sources()}
    assert {"__init__.py", "simple.py", "scaled.py"} <= names


@pytest.mark.parametrize("path", attention_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_ui_import_in_attention_sources(path):
    assert ui_imports(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import streamlit as st", ["1: streamlit"]),
        ("import os, plotly.graph_objects as go", ["1: plotly.graph_objects"]),
        ("from pandas import DataFrame", ["1: pandas"]),
        ("def f():\n    import streamlit", ["2: streamlit"]),
        ("import importlib\nimportlib.import_module('plotly')", ["2: plotly"]),
        ("__import__('pandas')", ["1: pandas"]),
        ("import torch\nfrom attention import simple\nfrom . import pandas_like", []),
    ],
)
def test_ui_import_checker_finds_imports(source, expected):
    assert ui_imports(source) == expected


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (REPO_ROOT / "ui").glob("*.py") if p.name != "__init__.py"),
    ids=lambda p: p.name,
)
def test_ui_holds_only_streamlit_code(path):
    """Code that does not call Streamlit belongs in a pure layer, not in ui/."""
    found = ui_imports(path.read_text(encoding="utf-8"), str(path))
    assert any(f.split(": ")[1].split(".")[0] == "streamlit" for f in found), path.name
