"""The app's promise that no user text is ever rendered as HTML: the only HTML it sends is
ui/present.py's constant style sheet. Checked on the sources, so a new call site fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ui import present

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [REPO_ROOT / "app.py", *(REPO_ROOT / "pages").glob("*.py"), *(REPO_ROOT / "ui").glob("*.py")]
)
HTML_CALLS = {"html", "components"}  # st.html, st.components.v1.html


def html_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls of something named html (st.html, components.html, ...)."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in HTML_CALLS
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_unsafe_html_and_html_only_from_a_constant(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    unsafe = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html"
    ]
    assert not unsafe, f"unsafe_allow_html at lines {unsafe}"
    calls = html_calls(tree)
    if path.name != "present.py" or path.parent.name != "ui":
        assert not calls, f"HTML rendered at lines {[c.lineno for c in calls]}"
        return
    # ui/present.py: st.html(STYLE) and nothing else, STYLE a module-level string literal.
    assert [ast.unparse(c) for c in calls] == ["st.html(STYLE)"]
    (style,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["STYLE"]
    ]
    assert isinstance(style, ast.Constant) and isinstance(style.value, str)


def test_the_style_sheet_is_only_css():
    style = present.STYLE.strip()
    assert style.startswith("<style>") and style.endswith("</style>")
    assert style.count("<") == 2  # no other tag inside
