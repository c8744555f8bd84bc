"""Click a heatmap cell in a real browser and see its arithmetic (lessons 1 and 2)."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    SKIP_WITHOUT_CHROMIUM,
    exception_texts,
    go_to_page,
    open_page,
    open_section,
    read_chart,
    script_runs,
    wait_charts,
    wait_idle,
)
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ui.explore import CELL_LABEL

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

SHOWN = 5e-5  # the arithmetic shows 4 decimals

# The page coordinates of cell (i, j)'s centre: Plotly's axes map the cell's index to pixels.
CELL_CENTRE_SCRIPT = """
([key, i, j]) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  plot.scrollIntoView({block: "center"});
  const box = plot.getBoundingClientRect();
  const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
  return [box.left + xa._offset + xa.l2p(j), box.top + ya._offset + ya.l2p(i)];
}
"""


def click_cell(page: Page, key: str, i: int, j: int, tries: int = 3) -> None:
    """Click cell (i, j) of the chart and wait for the rerun it starts. Each changed chart is
    drawn twice (again once its width is known), which can move it after it first appears: so
    the centre is measured after a short pause, and the click is repeated (at most `tries`
    times) when it started no run."""
    for _ in range(tries):
        page.wait_for_timeout(300)
        x, y = page.evaluate(CELL_CENTRE_SCRIPT, [key, i, j])
        runs = script_runs(page)
        page.mouse.click(x, y)
        try:
            wait_idle(page, since=runs, timeout=20_000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"clicking cell ({i}, {j}) of {key} started no script run")


def shown_weight(page: Page, i: int, j: int) -> float:
    """The value of a(i, j) (0-based) on the arithmetic's division line."""
    name = f"a({i + 1}, {j + 1}) = "
    for block in page.locator("[data-testid=stCode]").all_inner_texts():
        for line in block.splitlines():
            if line.startswith(name) and "/" in line:
                return float(re.split(r"=\s*", line)[-1])
    raise AssertionError(f"no arithmetic for {name}")


@pytest.mark.parametrize(
    ("path", "key"), [("/", "l1_cell_chart"), ("/Trainable_weights", "l2_cell_chart")]
)
def test_clicking_a_cell_shows_its_arithmetic(page: Page, app_url: str, path: str, key: str):
    open_page(page, app_url)
    if path != "/":
        go_to_page(page, app_url, path)
    open_section(page, CELL_LABEL)
    wait_charts(page, [key])
    drawn = read_chart(page, key)
    z = drawn["traces"][0]["z"]
    T = len(z)
    i, j = T - 1, 1
    click_cell(page, key, i, j)
    assert not exception_texts(page)
    assert shown_weight(page, i, j) == pytest.approx(z[i][j], abs=SHOWN)
    i, j = 1, T - 2
    click_cell(page, key, i, j)
    assert shown_weight(page, i, j) == pytest.approx(z[i][j], abs=SHOWN)
