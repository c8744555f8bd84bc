"""The floor app of the edit-to-picture benchmark (benchmarks/floor_app.py) with a page's worth of
text, and the claim bench_browser.py makes of it: as many elements as lesson 1's whole page."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
from app_support import ROOT, open_app
from streamlit.testing.v1 import AppTest

BENCHMARKS = str(ROOT / "benchmarks")
TEXT_KINDS = ("header", "markdown", "caption", "info")
# Nodes of AppTest's tree that are no element a page sends.
NOT_ELEMENTS = {"root", "main", "sidebar", "event"}


def kinds(node) -> Counter:
    """How many nodes of each type the tree under `node` holds (`node` itself included)."""
    counts = Counter([node.type])
    children = getattr(node, "children", None) or {}
    for child in children.values() if isinstance(children, dict) else children:
        counts += kinds(child)
    return counts


def bench_browser():
    """benchmarks/bench_browser.py, imported with benchmarks/ on the path only meanwhile."""
    sys.path.insert(0, BENCHMARKS)
    try:
        import bench_browser
    finally:
        sys.path.remove(BENCHMARKS)
    return bench_browser


def elements(at: AppTest) -> int:
    """The elements of a page: the nodes of its tree less root, main, sidebar and event."""
    return sum(n for kind, n in kinds(at._tree).items() if kind not in NOT_ELEMENTS)


def floor(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "benchmarks" / "floor_app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_plain_floor_has_one_editor_one_heatmap_and_no_text():
    at = floor()
    counts = kinds(at._tree)
    assert counts["dataframe"] == 1  # the data editor
    assert counts["plotly_chart"] == 1
    assert all(counts[kind] == 0 for kind in TEXT_KINDS)


def test_text_elements_follow_the_heatmap_in_turn():
    at = floor(T="5", text="10")
    main = list(at.main.children.values())
    types = [node.type for node in main]
    chart = types.index("plotly_chart")
    assert types[chart + 1 :] == [*TEXT_KINDS, *TEXT_KINDS, "header", "markdown"]
    assert at.header[1].value == "Step 2"
    assert "Step 3" in at.markdown[-1].value


@pytest.mark.parametrize(("asked", "drawn"), [("-3", 0), ("0", 0), ("7", 7), ("999", "max")])
def test_the_text_count_is_kept_within_0_to_the_benchmarks_maximum(asked, drawn):
    drawn = bench_browser().TEXT_MAX if drawn == "max" else drawn
    counts = kinds(floor(text=asked)._tree)
    assert sum(counts[kind] for kind in TEXT_KINDS) == drawn


def test_the_default_text_page_has_as_many_elements_as_lesson_1():
    """bench_browser.py says its default text page has as many text elements as lesson 1 has
    elements: a change to lesson 1 that changes its count must change TEXT_ELEMENTS too."""
    bench = bench_browser()
    lesson1 = elements(open_app())
    assert lesson1 == bench.TEXT_ELEMENTS
    # The text page: that many text elements, then the floor's own editor and heatmap.
    assert elements(floor(T="5", text=str(bench.TEXT_ELEMENTS))) == lesson1 + 2
    (text,) = [p for p in bench.PAGES if p.key == "text"]
    page = bench.text_page(text, bench.TEXT_ELEMENTS)
    assert page.reference
    assert page.path == f"/?T=5&text={bench.TEXT_ELEMENTS}"
    assert "as many as lesson 1's whole page" in page.note
