"""Helpers for the end-to-end tests: find Chromium, wait for Streamlit runs, read Plotly data,
edit a data-editor cell, take full-page screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import streamlit_harness as harness
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
SCREENSHOT_DIR = ARTIFACTS_DIR / "screenshots"
GOLDEN_PATH = REPO_ROOT / "tests" / "data" / "seed.json"

IDLE = harness.IDLE
RENDERED_SCRIPT = harness.RENDERED_SCRIPT
CHROMIUM_ARGS = harness.CHROMIUM_ARGS
EXCEPTION = "[data-testid=stException]"
# Generous: a CI machine with two busy cores can take many seconds for the first run.
RUN_TIMEOUT_MS = 180_000
CHART_TIMEOUT_MS = 180_000

# Plotly's drawn data of a keyed chart: every trace's type, name, mode and x/y/z as plain lists.
READ_CHART_SCRIPT = """
(key) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  if (!plot || !plot._fullData) return null;
  const plain = (v) => v == null ? null
    : ArrayBuffer.isView(v) ? Array.from(v)
    : Array.isArray(v) ? v.map(plain) : v;
  const axis = (a) => a ? {ticktext: plain(a.ticktext), tickvals: plain(a.tickvals)} : null;
  return {
    traces: plot._fullData.map((t) => ({
      type: t.type, name: t.name, mode: t.mode ?? null,
      x: plain(t.x), y: plain(t.y), z: plain(t.z),
    })),
    xaxis: axis(plot._fullLayout.xaxis),
    yaxis: axis(plot._fullLayout.yaxis),
  };
}
"""

# True once every chart with a key in `keys` is drawn with its newest figure (one waiting out of
# view is brought into view first: streamlit_harness.CHART_DRAWN_SCRIPT).
CHARTS_DRAWN_SCRIPT = "(keys) => keys.every(" + harness.CHART_DRAWN_SCRIPT + ")"


def find_chromium() -> str | None:
    """Debian's Chromium, or `chromium` on PATH; None when neither exists."""
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = find_chromium()
SKIP_WITHOUT_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None,
    reason="end-to-end tests need Chromium at /usr/bin/chromium or `chromium` on PATH",
)


def script_runs(page: Page) -> int:
    """How many script runs the page's session has started so far (see streamlit_harness)."""
    return harness.script_runs(page)


def wait_idle(page: Page, since: int | None = None, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Wait until the app is idle; with `since` (a script_runs() count taken before an action),
    first until a run started after it has finished (see harness.wait_idle)."""
    harness.wait_idle(page, since, timeout)


def open_page(page: Page, url: str) -> None:
    """Load `url` and wait until its first script run has finished."""
    page.goto(url)
    wait_idle(page, since=0)


def url_path(url: str) -> str:
    return urlparse(url).path


def go_to_page(page: Page, base_url: str, path: str) -> None:
    """Switch to the page at `path` through the sidebar's links (no reload), or load it when
    the current page has no such link; wait until its run has finished."""
    runs = script_runs(page)
    if page.evaluate(harness.CLICK_SIDEBAR_LINK_SCRIPT, path):
        wait_idle(page, since=runs)
    else:
        open_page(page, base_url + path)
    page.wait_for_url(lambda url: url_path(url) == path)


def open_section(page: Page, label: str) -> None:
    """Open a closed expander by its label and wait for the rerun (a lazy section, ui/lazy.py,
    runs its contents only once it is open)."""
    runs = script_runs(page)
    page.locator("summary", has_text=label).first.click()
    wait_idle(page, since=runs)


def wait_charts(page: Page, keys: list[str], timeout: float = CHART_TIMEOUT_MS) -> None:
    """Wait until the keyed Plotly charts are drawn; fail naming the ones that never were."""
    try:
        page.wait_for_function(CHARTS_DRAWN_SCRIPT, arg=keys, timeout=timeout)
    except PlaywrightTimeoutError:
        missing = [key for key in keys if read_chart(page, key) is None]
        pytest.fail(f"Plotly charts not drawn after {timeout / 1000:.0f} s: {missing}")


def wait_rendered(page: Page, timeout: float = CHART_TIMEOUT_MS) -> None:
    """Wait until no element is a loading skeleton any more and every Plotly chart is drawn."""
    page.wait_for_function(RENDERED_SCRIPT, timeout=timeout)
    page.evaluate("() => document.fonts.ready")


def read_chart(page: Page, key: str) -> dict[str, Any] | None:
    """The drawn data of the chart with key `key` (see READ_CHART_SCRIPT), or None. An in-place
    chart waiting out of view is brought into view and drawn first."""
    if page.locator(f".st-key-{key} .ae-live-chart").count():
        page.wait_for_function(harness.CHART_DRAWN_SCRIPT, arg=key, timeout=CHART_TIMEOUT_MS)
    return page.evaluate(READ_CHART_SCRIPT, key)


def wait_heatmap_z(page: Page, key: str, changed_from: list[list[float]]) -> None:
    """Wait until the heatmap's drawn z is no longer `changed_from` (the rerun redrew it)."""
    page.wait_for_function(
        "([key, before]) => {\n  ("
        + harness.BRING_INTO_VIEW_JS
        + """)(key);
          const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
          if (!plot || !plot._fullData) return false;
          const z = plot._fullData[0].z.map((row) => Array.from(row));
          return JSON.stringify(z) !== JSON.stringify(before);
        }""",
        arg=[key, changed_from],
    )


def exception_texts(page: Page) -> list[str]:
    """The text of every Streamlit exception box on the page."""
    return page.locator(EXCEPTION).all_inner_texts()


def editor_cell_text(page: Page, row: int, col: int) -> str:
    """The text of a data-editor cell, from the grid's accessible table."""
    return page.locator(f"[class*=st-key-w_editor_] #glide-cell-{col}-{row}").inner_text()


def edit_editor_cell(page: Page, row: int, col: int, value: str) -> None:
    """Type `value` into the embedding editor's cell (row, col) and commit it with Enter.

    The grid is drawn on a canvas: the cell is found by position. Columns are
    token, dim 1, ..., dim d; the header row sits on top. The first guess splits the canvas
    width evenly between the columns; a single click selects a cell, and the grid's accessible
    table (aria-selected on #glide-cell-<col>-<row>) says which one, so the guess is corrected
    by scanning across the row if needed. Then a double click opens the cell's editor overlay
    in [data-testid=portal].
    """
    grid = page.locator("[class*=st-key-w_editor_] canvas[data-testid=data-grid-canvas]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None, "the embedding editor's canvas is not visible"
    n_cols = int(grid.locator("table").get_attribute("aria-colcount") or "0")
    n_rows = int(grid.locator("table").get_attribute("aria-rowcount") or "0")  # header included
    assert 0 <= col < n_cols and 0 <= row < n_rows - 1, f"no cell ({row}, {col}) in the editor"
    row_height = box["height"] / n_rows
    y = box["y"] + row_height * (row + 1.5)
    target = page.locator(f"[class*=st-key-w_editor_] #glide-cell-{col}-{row}")
    col_width = box["width"] / n_cols
    guess = box["x"] + col_width * (col + 0.5)
    candidates = [guess] + [box["x"] + dx for dx in range(4, int(box["width"]), 8)]
    for x in candidates:
        page.mouse.click(x, y)
        try:  # the accessible table follows the selection after a React render
            expect(target).to_have_attribute("aria-selected", "true", timeout=1_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    else:
        pytest.fail(f"could not select editor cell ({row}, {col}) by clicking its canvas")
    page.mouse.dblclick(x, y)
    editor = page.locator("[data-testid=portal] .gdg-input, [data-testid=portal] textarea")
    editor.first.wait_for(state="visible", timeout=5_000)
    editor.first.fill(value)
    editor.first.press("Enter")


def full_page_screenshot(page: Page, path: Path) -> None:
    """A screenshot of the whole page.

    Streamlit scrolls inside [data-testid=stMain], not the document, so Playwright's full_page
    would only capture the viewport: grow the viewport to the content's height first.
    """
    viewport = page.viewport_size
    assert viewport is not None
    height = int(page.evaluate(MAIN_HEIGHT_SCRIPT))
    for _ in range(5):
        page.set_viewport_size({"width": viewport["width"], "height": max(height, 300)})
        page.wait_for_timeout(300)  # let the layout settle at the new height
        new_height = int(page.evaluate(MAIN_HEIGHT_SCRIPT))
        if new_height <= height:
            break
        height = new_height
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, caret="initial")
    page.set_viewport_size(viewport)


MAIN_HEIGHT_SCRIPT = """
() => {
  const main = document.querySelector("[data-testid=stMain]");
  return Math.max(document.documentElement.scrollHeight, main ? main.scrollHeight : 0);
}
"""

HORIZONTAL_OVERFLOW_SCRIPT = """
() => {
  const main = document.querySelector("[data-testid=stMain]");
  return {
    innerWidth: window.innerWidth,
    documentScrollWidth: document.documentElement.scrollWidth,
    mainScrollWidth: main ? main.scrollWidth : 0,
    mainClientWidth: main ? main.clientWidth : 0,
  };
}
"""


def horizontal_overflow(page: Page) -> dict[str, int]:
    """Widths that show whether the page (or Streamlit's scrolling main area) scrolls sideways."""
    return page.evaluate(HORIZONTAL_OVERFLOW_SCRIPT)
