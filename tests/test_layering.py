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

PROBE = """
import importlib.util, json, sys
watched = ("streamlit", "plotly", "pandas")
def loaded():
    return sorted(m for m in watched if m in sys.modules)
report = {}
import attention
report["attention"] = loaded()
import attention.scaled
report["attention.scaled"] = loaded()
if importlib.util.find_spec("charts") is not None:
    import charts
    report["charts"] = loaded()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def fresh_imports() -> dict[str, list[str]]:
    """Which UI libraries a fresh interpreter has loaded after each import of the layers."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_attention_imports_no_ui_library(fresh_imports):
    assert fresh_imports["attention"] == []


def test_attention_scaled_imports_no_ui_library(fresh_imports):
    assert fresh_imports["attention.scaled"] == []


def test_charts_does_not_import_streamlit(fresh_imports):
    if "charts" not in fresh_imports:
        pytest.skip("no charts package in this checkout")
    assert "streamlit" not in fresh_imports["charts"]


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
