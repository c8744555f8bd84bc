"""Charts update in place in a real browser (ui/live_chart.js): an edit changes the numbers of
the plot that is already on the page instead of replacing it, and the charts take the app's
theme."""

from __future__ import annotations

import pytest
from browser_helpers import (
    SKIP_WITHOUT_CHROMIUM,
    edit_editor_cell,
    open_page,
    read_chart,
    script_runs,
    wait_charts,
    wait_heatmap_z,
    wait_idle,
    wait_rendered,
)
from playwright.sync_api import Page

from ui import live_chart

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

CHARTS = ["query_scores_bar", "weights_heatmap", "scores_heatmap"]

MARK_SCRIPT = """
(keys) => keys.forEach((key) => {
  document.querySelector(".st-key-" + key + " .js-plotly-plot").__beforeTheEdit = key;
})
"""
MARKED_SCRIPT = """
(keys) => keys.filter((key) =>
  document.querySelector(".st-key-" + key + " .js-plotly-plot").__beforeTheEdit === key)
"""


def test_an_edit_changes_the_charts_already_on_the_page(page: Page, app_url: str) -> None:
    open_page(page, app_url)
    wait_charts(page, CHARTS)
    before = read_chart(page, "weights_heatmap")
    page.evaluate(MARK_SCRIPT, CHARTS)
    plots = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")

    runs = script_runs(page)
    edit_editor_cell(page, row=0, col=1, value="1.5")
    wait_idle(page, since=runs)
    wait_heatmap_z(page, "weights_heatmap", changed_from=before["traces"][0]["z"])
    wait_rendered(page)
    # The same plot elements, with new numbers: nothing was removed and drawn anew.
    assert page.evaluate(MARKED_SCRIPT, CHARTS) == CHARTS
    assert page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length") == plots
    after = read_chart(page, "weights_heatmap")
    assert after["traces"][0]["z"][0] != before["traces"][0]["z"][0]


THEME_SCRIPT = """
(key) => {
  const plot = document.querySelector(".st-key-" + key + " .js-plotly-plot");
  const app = getComputedStyle(document.querySelector("[data-testid=stApp]"));
  return {
    paper: plot._fullLayout.paper_bgcolor,
    font: plot._fullLayout.font.color,
    appBackground: app.backgroundColor,
    appText: app.color,
  };
}
"""


def rgb(colour: str) -> tuple[int, int, int]:
    """'#0e1117', 'rgb(14, 17, 23)' or 'rgba(14, 17, 23, 1)' as (14, 17, 23)."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    return tuple(round(float(p)) for p in parts[:3])  # type: ignore[return-value]


def test_charts_take_the_app_theme(page: Page, app_url: str) -> None:
    """The chart's background and text are the app's, read from the theme's CSS variables. The
    script's text fallback (#31333f) differs from this theme's text colour (rgb(47, 45, 43) in
    Streamlit 1.67's light theme), so the text check fails if the variables are not read."""
    open_page(page, app_url)
    wait_charts(page, ["weights_heatmap"])
    theme = page.evaluate(THEME_SCRIPT, "weights_heatmap")
    assert rgb(theme["paper"]) == rgb(theme["appBackground"]), theme
    assert rgb(theme["font"]) == rgb(theme["appText"]), theme


def test_the_cartesian_build_draws_every_trace_type_it_is_chosen_for(
    page: Page, app_url: str
) -> None:
    open_page(page, app_url)
    wait_charts(page, CHARTS)
    traces = page.evaluate("() => Object.keys(window.Plotly.PlotSchema.get().traces)")
    assert set(traces) >= live_chart.CARTESIAN_TRACES, sorted(set(traces))
    assert "scatter3d" not in traces  # the page loaded the small build only


def vectors_type(page: Page) -> str:
    return page.evaluate(
        """() => document.querySelector(".st-key-vectors_plot .js-plotly-plot")
             ._fullData[0].type"""
    )


def test_the_3d_picture_brings_the_full_build_and_the_2d_charts_still_update(
    page: Page, app_url: str
) -> None:
    open_page(page, app_url)
    wait_charts(page, [*CHARTS, "vectors_plot"])
    switch = page.get_by_text("Draw in 3-D (drag to turn it)")
    for expected in ("scatter3d", "scatter"):
        runs = script_runs(page)
        switch.click()
        wait_idle(page, since=runs)
        page.wait_for_function(
            """(type) => {
              const plot = document.querySelector(".st-key-vectors_plot .js-plotly-plot");
              return plot && plot._fullData && plot._fullData[0].type === type;
            }""",
            arg=expected,
        )
    before = read_chart(page, "weights_heatmap")["traces"][0]["z"]
    runs = script_runs(page)
    edit_editor_cell(page, row=2, col=2, value="1.5")
    wait_idle(page, since=runs)
    wait_heatmap_z(page, "weights_heatmap", changed_from=before)
    wait_rendered(page)
    assert vectors_type(page) == "scatter"


def test_a_token_that_looks_like_a_theme_colour_stays_as_typed(page: Page, app_url: str) -> None:
    """The script swaps Streamlit's colour placeholders ("#000001".."#000010") in the figure's
    colour list only, never in text: a token spelled like one is drawn as typed."""
    open_page(page, app_url)
    wait_charts(page, ["weights_heatmap"])
    before = read_chart(page, "weights_heatmap")["traces"][0]["z"]
    box = page.locator("[data-testid=stSidebar] input[aria-label^='Tokens']")
    runs = script_runs(page)
    box.fill("#000001 #000010 cat")
    box.press("Enter")
    wait_idle(page, since=runs)
    page.wait_for_function(
        """(before) => {
          const plot = document.querySelector(".st-key-weights_heatmap .js-plotly-plot");
          return plot._fullData[0].z.length !== before.length;
        }""",
        arg=before,
    )
    labels = read_chart(page, "weights_heatmap")["traces"][0]["y"]
    assert labels == ["1: #000001", "2: #000010", "3: cat"]


# Each in-place chart of lesson 1: [key, drawn (has a plot), waiting (a figure it has not drawn
# because it is out of view)].
CHART_STATES_SCRIPT = """
() => [...document.querySelectorAll(".ae-live-chart")].map((plot) => [
  plot.closest("[class*='st-key-']").className.match(/st-key-(\\S+)/)[1],
  !!plot._fullLayout,
  plot.hasAttribute("data-waiting"),
])
"""
HEATMAP_Z_SCRIPT = """
() => document.querySelector(".st-key-weights_heatmap .js-plotly-plot")._fullData[0].z
  .map((row) => Array.from(row))
"""
SCROLL_TOP_SCRIPT = "() => document.querySelector('[data-testid=stMain]').scrollTop"
SCROLL_MAIN_SCRIPT = "(y) => document.querySelector('[data-testid=stMain]').scrollTo(0, y)"


def test_charts_far_from_the_screen_are_drawn_when_they_come_near(page: Page, app_url: str) -> None:
    """An edit redraws the charts on screen or within a screen of it; a chart further down keeps
    the new figure and draws it when it is scrolled near, and printing draws every chart."""
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, app_url)
    wait_charts(page, ["query_scores_bar"])
    page.wait_for_function(
        "() => document.querySelector('.st-key-weights_heatmap .ae-live-chart[data-waiting]')"
    )
    states = {key: (drawn, waiting) for key, drawn, waiting in page.evaluate(CHART_STATES_SCRIPT)}
    # The scores bar starts below the bottom of the screen, within one screen of it: drawn.
    top = page.evaluate(
        "() => document.querySelector('.st-key-query_scores_bar .ae-live-chart')"
        ".getBoundingClientRect().top"
    )
    assert 900 < top < 1800
    assert states["query_scores_bar"] == (True, False)
    assert states["weights_heatmap"] == (False, True)  # far below: waits, never drawn yet
    before = read_chart(page, "weights_heatmap")  # scrolls it near: now it is drawn
    assert before is not None

    page.evaluate(SCROLL_MAIN_SCRIPT, 0)
    runs = script_runs(page)
    edit_editor_cell(page, row=0, col=1, value="1.5")
    wait_idle(page, since=runs)
    wait_rendered(page)
    page.wait_for_function(
        "() => document.querySelector('.st-key-weights_heatmap .ae-live-chart')"
        ".hasAttribute('data-waiting')"
    )
    # Still the old numbers: the heatmap is far from the screen.
    stale = page.evaluate(
        "() => Array.from(document.querySelector('.st-key-weights_heatmap .js-plotly-plot')"
        "._fullData[0].z[0])"
    )
    assert stale == before["traces"][0]["z"][0]
    # Scrolled near, it draws the edit's figure.
    wait_heatmap_z(page, "weights_heatmap", changed_from=before["traces"][0]["z"])

    # Printing draws the charts that wait, without scrolling to them.
    drawn_z = page.evaluate(HEATMAP_Z_SCRIPT)
    page.evaluate(SCROLL_MAIN_SCRIPT, 0)
    runs = script_runs(page)
    edit_editor_cell(page, row=1, col=1, value="-0.5")
    wait_idle(page, since=runs)
    page.wait_for_function(
        "() => document.querySelector('.st-key-weights_heatmap .ae-live-chart')"
        ".hasAttribute('data-waiting')"
    )
    assert page.evaluate(HEATMAP_Z_SCRIPT) == drawn_z
    scrolled = page.evaluate(SCROLL_TOP_SCRIPT)
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_function(
        "() => document.querySelectorAll('.ae-live-chart[data-pending]').length === 0"
    )
    assert page.evaluate(HEATMAP_Z_SCRIPT) != drawn_z
    assert page.evaluate(SCROLL_TOP_SCRIPT) == scrolled
    assert all(drawn for _, drawn, _ in page.evaluate(CHART_STATES_SCRIPT))
