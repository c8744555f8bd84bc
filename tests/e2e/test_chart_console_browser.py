"""Every lesson's charts draw in a real browser without Plotly warnings.

A warning from plotly.js (for instance a colour it cannot read) is written with a stack trace:
tens of milliseconds of the page's time per edit, and a sign that a chart does not look as
meant."""

from __future__ import annotations

import pytest
from browser_helpers import SKIP_WITHOUT_CHROMIUM, go_to_page, open_page, wait_charts
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

# Each page with one chart its default view draws.
PAGES = {
    "/": "weights_heatmap",
    "/Trainable_weights": "l2_weights_heatmap",
    "/Causal_attention": "l3_weights_heatmap",
    "/Multi-head_attention": "l4_query_weights_bar",
    "/Pretrained_transformer": "l5_query_bar",
    "/Softmax_lab": "softmax_lab_bars",
}


def test_no_page_makes_plotly_warn(page: Page, app_url: str):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    open_page(page, app_url)
    for path, chart in PAGES.items():
        if path != "/":
            go_to_page(page, app_url, path)
        wait_charts(page, [chart])
    drawn = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
    assert drawn > 0
    warnings = [m for m in messages if m.startswith("WARN")]
    assert not warnings, warnings[:5]
