"""Lesson 1 in a real browser: the seed's numbers on screen, editing, tokens, screenshots."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch
from browser_helpers import (
    CHART_TIMEOUT_MS,
    EXCEPTION,
    GOLDEN_PATH,
    REPO_ROOT,
    SCREENSHOT_DIR,
    SKIP_WITHOUT_CHROMIUM,
    edit_editor_cell,
    editor_cell_text,
    exception_texts,
    full_page_screenshot,
    go_to_page,
    horizontal_overflow,
    open_section,
    read_chart,
    script_runs,
    url_path,
    wait_charts,
    wait_heatmap_z,
    wait_idle,
    wait_rendered,
)
from playwright.sync_api import Page, expect

from lessons.lesson1 import ROWS_LABEL

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

SEED_T = 5
HOME_CHARTS = [
    "query_scores_bar",
    "query_weights_bars",
    "vectors_plot",
    "scores_heatmap",
    "weights_heatmap",
]
# Every page of the app: (URL path, screenshot name). Add new pages here; Streamlit serves
# pages/<n>_<Name>.py at /<Name>.
PAGES = [
    ("/", "home"),
    ("/Trainable_weights", "trainable"),
    ("/Causal_attention", "causal"),
    ("/Multi-head_attention", "multihead"),
    ("/Pretrained_transformer", "pretrained"),
    ("/Generating_text", "generating"),
    ("/Softmax_lab", "softmax-lab"),
    ("/About_attention", "about"),
]
WIDTHS = [1280, 390]
EDIT_TOL = 1e-4


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))


def assert_close(actual: Any, expected: Any, tol: float, what: str) -> None:
    """Nested lists of numbers equal within `tol` (same shape)."""
    actual_t = torch.tensor(actual, dtype=torch.float64)
    expected_t = torch.tensor(expected, dtype=torch.float64)
    assert actual_t.shape == expected_t.shape, (
        f"{what}: shape {tuple(actual_t.shape)}, expected {tuple(expected_t.shape)}"
    )
    diff = float((actual_t - expected_t).abs().max()) if actual_t.numel() else 0.0
    assert diff <= tol, f"{what}: {actual} differs from {expected} by {diff:.2e} > {tol:g}"


def softmax_weights(x: Sequence[Sequence[float]]) -> list[list[float]]:
    """softmax(X Xᵀ) row by row, float32 like the app, computed here independently."""
    x_t = torch.tensor(x, dtype=torch.float32)
    return torch.softmax(x_t @ x_t.T, dim=-1).tolist()


def heatmap_z(page: Page, key: str) -> list[list[float]]:
    chart = read_chart(page, key)
    assert chart is not None, f"chart {key} is not drawn"
    return chart["traces"][0]["z"]


def open_home(page: Page, url: str, charts: Sequence[str] = tuple(HOME_CHARTS)) -> None:
    go_to_page(page, url, "/")
    wait_charts(page, list(charts))


def test_home_renders_seed_numbers(page: Page, app_url: str) -> None:
    seed = golden()
    tol = seed["tolerance"] + 1e-7  # golden values are rounded to 4 decimals
    simple = seed["simple"]
    open_home(page, app_url)

    assert exception_texts(page) == []
    assert page.locator("h1", has_text="Simple self-attention").count() == 1

    scores_bar = read_chart(page, "query_scores_bar")
    assert_close(scores_bar["traces"][0]["y"], simple["query_scores"], tol, "query scores bar")

    bars = {trace["name"]: trace["y"] for trace in read_chart(page, "query_weights_bars")["traces"]}
    for name, golden_key in (
        ("sum normalisation", "query_weights_sum"),
        ("naive softmax", "query_weights_naive_softmax"),
        ("softmax (stable)", "query_weights_softmax"),
    ):
        assert name in bars, f"no bar trace {name!r} in query_weights_bars: {list(bars)}"
        assert_close(bars[name], simple[golden_key], tol, f"weights bar {name}")

    # d = 3: turned on, the picture shows the input vectors and z(1) in 3-D; find the traces
    # by their number of points.
    runs = script_runs(page)
    page.get_by_text("Draw in 3-D (drag to turn it)").click()
    wait_idle(page, since=runs)
    page.wait_for_function(
        """() => {
          const plot = document.querySelector(".st-key-vectors_plot .js-plotly-plot");
          return plot && plot._fullData && plot._fullData.some((t) => t.type === "scatter3d");
        }""",
        timeout=CHART_TIMEOUT_MS,
    )
    vectors = read_chart(page, "vectors_plot")["traces"]
    inputs = [t for t in vectors if t["mode"] and "markers" in t["mode"] and len(t["x"]) == 5]
    context = [t for t in vectors if t["mode"] and "markers" in t["mode"] and len(t["x"]) == 1]
    assert len(inputs) == 1 and len(context) == 1, f"vectors_plot traces: {vectors}"
    points = [list(p) for p in zip(inputs[0]["x"], inputs[0]["y"], inputs[0]["z"], strict=True)]
    assert_close(points, simple["inputs"], 1e-6, "input vectors")
    z_point = [context[0]["x"][0], context[0]["y"][0], context[0]["z"][0]]
    assert_close(z_point, simple["query_context"], tol, "context vector z(1)")

    assert_close(heatmap_z(page, "scores_heatmap"), simple["scores"], tol, "scores heatmap")
    assert heatmap_z(page, "scores_heatmap")[0][0] == pytest.approx(0.6658, abs=5e-5)
    assert_close(heatmap_z(page, "weights_heatmap"), simple["weights"], tol, "weights heatmap")
    assert heatmap_z(page, "weights_heatmap")[0] == pytest.approx(
        [0.1896, 0.2202, 0.2381, 0.2144, 0.1378], abs=5e-5
    )

    # One bar trace per query; the slider under the chart switches between them in the page.
    open_section(page, ROWS_LABEL)
    wait_charts(page, ["weights_by_query"])
    # (Plotly computes only the visible trace: the others are read from the chart's data.)
    bars = page.evaluate(
        """() => document.querySelector(".st-key-weights_by_query .js-plotly-plot")
                   .data.map((trace) => Array.from(trace.y))"""
    )
    assert len(bars) == SEED_T, f"weights_by_query has {len(bars)} traces, expected {SEED_T}"
    for i, row in enumerate(bars):
        assert_close(row, simple["weights"][i], tol, f"weights_by_query (query {i + 1})")
    assert shown_query(page) == (0, "Attention weights of the query 1: Attention")
    runs = script_runs(page)
    rail = page.locator(".st-key-weights_by_query .slider-rail-touch-rect")
    box = rail.bounding_box()
    rail.click(position={"x": box["width"] / 2, "y": box["height"] / 2})  # the middle: query 3
    page.wait_for_function(
        f"() => ({SHOWN_QUERY_SCRIPT})()[0] === 2", timeout=CHART_TIMEOUT_MS, polling=50
    )
    assert shown_query(page) == (2, "Attention weights of the query 3: drives")
    page.wait_for_timeout(500)
    assert script_runs(page) == runs, "the slider should work in the page, without a rerun"


# Which query the per-query chart shows: (index of the visible trace, title text).
SHOWN_QUERY_SCRIPT = """
() => {
  const plot = document.querySelector(".st-key-weights_by_query .js-plotly-plot");
  const shown = plot._fullData.filter((t) => t.visible === true).map((t) => t.index);
  return [shown.length === 1 ? shown[0] : -1, plot._fullLayout.title.text];
}
"""


def shown_query(page: Page) -> tuple[int, str]:
    index, title = page.evaluate(SHOWN_QUERY_SCRIPT)
    # Streamlit's theme sets titles in bold; long titles wrap at a <br>.
    return index, re.sub(r"</?b>", "", title).replace("<br>", " ")


def test_editing_a_cell_recomputes_and_survives_page_switch(page: Page, app_url: str) -> None:
    seed = golden()["simple"]
    open_home(page, app_url, charts=["weights_heatmap"])
    before = heatmap_z(page, "weights_heatmap")
    edited = [list(row) for row in seed["inputs"]]
    edited[1][0] = 1.5  # row 2 (Mechanism), "dim 1"
    expected = softmax_weights(edited)
    assert_close(before, softmax_weights(seed["inputs"]), EDIT_TOL, "weights before the edit")

    runs = script_runs(page)
    edit_editor_cell(page, row=1, col=1, value="1.5")
    wait_idle(page, since=runs)
    wait_heatmap_z(page, "weights_heatmap", changed_from=before)

    assert exception_texts(page) == []
    assert editor_cell_text(page, 1, 1) == "1.5"
    assert_close(heatmap_z(page, "weights_heatmap"), expected, EDIT_TOL, "weights after the edit")

    # To the About page through the sidebar's page links, and back.
    links = page.locator("[data-testid=stSidebar] a")
    runs = script_runs(page)
    links.filter(has_text="About attention").click()
    wait_idle(page, since=runs)
    page.locator("h1", has_text="About attention").wait_for()
    assert url_path(page.url) == "/About_attention"
    assert exception_texts(page) == []

    runs = script_runs(page)
    links.filter(has_text="Simple self-attention").click()
    wait_idle(page, since=runs)
    wait_charts(page, ["weights_heatmap"])
    assert exception_texts(page) == []
    assert editor_cell_text(page, 1, 1) == "1.5"
    assert_close(
        heatmap_z(page, "weights_heatmap"), expected, EDIT_TOL, "weights after a page switch"
    )


def test_typing_tokens_rebuilds_the_heatmap(page: Page, app_url: str) -> None:
    open_home(page, app_url, charts=["weights_heatmap"])
    before = heatmap_z(page, "weights_heatmap")
    box = page.locator("[data-testid=stSidebar] input[aria-label^='Tokens']")
    runs = script_runs(page)
    box.fill("the cat sat")
    box.press("Enter")
    wait_idle(page, since=runs)
    wait_heatmap_z(page, "weights_heatmap", changed_from=before)

    assert exception_texts(page) == []
    chart = read_chart(page, "weights_heatmap")
    z = chart["traces"][0]["z"]
    assert len(z) == 3 and all(len(row) == 3 for row in z), f"weights heatmap is not 3x3: {z}"
    assert chart["traces"][0]["y"] == ["1: the", "2: cat", "3: sat"]
    assert chart["traces"][0]["x"] == ["1: the", "2: cat", "3: sat"]
    # The new vectors as the editor shows them, and softmax(X Xᵀ) of those, computed here.
    assert [editor_cell_text(page, i, 0) for i in range(3)] == ["the", "cat", "sat"]
    x = [[float(editor_cell_text(page, i, j + 1)) for j in range(3)] for i in range(3)]
    assert_close(z, softmax_weights(x), EDIT_TOL, "weights of the new tokens")


def test_tokens_box_keeps_its_text_after_a_page_switch(page: Page, app_url: str) -> None:
    seed_text = " ".join(golden()["simple"]["tokens"])
    box = page.locator("[data-testid=stSidebar] input[aria-label^='Tokens']")
    go_to_page(page, app_url, "/About_attention")
    expect(box).to_have_value(seed_text)
    go_to_page(page, app_url, "/Multi-head_attention")
    expect(box).to_have_value(seed_text, timeout=5_000)


def test_pages_list_covers_every_page() -> None:
    files = sorted((REPO_ROOT / "pages").glob("*.py"))
    served = {"/" + re.sub(r"^\d+_", "", f.stem) for f in files}
    listed = {path for path, _ in PAGES}
    assert served | {"/"} == listed, f"add the missing pages to PAGES: {served - listed}"


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_every_page(new_page: Callable[..., Page], app_url: str, width: int) -> None:
    """Every page at `width` px, full length, after its run and its charts have finished.

    The first page is loaded, the others are reached through the sidebar's links (one session,
    no reloads). At phone width the page must not scroll sideways.
    """
    page = new_page(width=width, height=900)
    problems = []
    for path, name in PAGES:
        go_to_page(page, app_url, path)
        wait_rendered(page)
        if page.locator(EXCEPTION).count():
            problems.append(f"{path}: exception {exception_texts(page)}")
        if width <= 400:
            widths = horizontal_overflow(page)
            if widths["documentScrollWidth"] > widths["innerWidth"] + 1:
                problems.append(f"{path} at {width} px: the document scrolls sideways {widths}")
            if widths["mainScrollWidth"] > widths["mainClientWidth"] + 1:
                problems.append(f"{path} at {width} px: the main area scrolls sideways {widths}")
        full_page_screenshot(page, SCREENSHOT_DIR / f"{name}-{width}.png")
    assert problems == []
