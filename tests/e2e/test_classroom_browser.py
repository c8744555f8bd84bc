"""Classroom features in a real browser: share links, presentation mode, the pretrained lesson,
and hostile text that must stay inert."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
import torch
from bad_input_items import MARKUP
from browser_helpers import (
    EXCEPTION,
    SCREENSHOT_DIR,
    SKIP_WITHOUT_CHROMIUM,
    full_page_screenshot,
    horizontal_overflow,
    open_page,
    read_chart,
    script_runs,
    wait_charts,
    wait_idle,
    wait_rendered,
)
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]
expect.set_options(timeout=60_000)  # a busy two-core CI machine is slow to restyle


def weights_z(page: Page, key: str = "weights_heatmap") -> list[list[float]]:
    chart = read_chart(page, key)
    assert chart is not None, f"chart {key} is not drawn"
    return chart["traces"][0]["z"]


def test_a_share_link_reproduces_the_view_in_another_browser(new_page, app_url: str) -> None:
    first = new_page()
    link = f"{app_url}/?tokens={quote('the cat the dog')}&x=0.1,0.2;0.3,-0.4;0.1,0.2;1,0&q=3"
    open_page(first, link)
    wait_charts(first, ["weights_heatmap", "query_scores_bar"])
    x = torch.tensor([[0.1, 0.2], [0.3, -0.4], [0.1, 0.2], [1.0, 0.0]])
    expected = torch.softmax(x @ x.T, dim=-1)
    z = torch.tensor(weights_z(first), dtype=torch.float32)
    torch.testing.assert_close(z, expected, atol=1e-5, rtol=0)
    assert read_chart(first, "query_scores_bar")["traces"][0]["y"][3] == pytest.approx(
        1.0, abs=1e-6
    )
    # The address bar holds the example; a second browser opening it sees the same numbers.
    params = parse_qs(urlsplit(first.url).query)
    assert params["tokens"] == ["the cat the dog"] and params["q"] == ["3"]
    second = new_page(width=390, height=900)
    open_page(second, first.url)
    wait_charts(second, ["weights_heatmap"])
    assert weights_z(second) == weights_z(first)
    wait_rendered(second)
    full_page_screenshot(second, SCREENSHOT_DIR / "share-link-390.png")


def test_a_malformed_link_shows_a_message_and_the_seed(page: Page, app_url: str) -> None:
    open_page(page, f"{app_url}/?tokens=%E0%A4%A%ZZ&x=1,2;3&q=9&tokens=again")
    expect(page.get_by_text("This link could not be opened")).to_be_visible()
    wait_charts(page, ["weights_heatmap"])
    assert len(weights_z(page)) == 5
    assert page.locator(EXCEPTION).count() == 0


def picture_fits(page: Page, key: str, height: int) -> bool:
    """True when the chart with `key` lies wholly inside the first `height` px of the screen."""
    box = page.locator(f".st-key-{key}").bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_presentation_mode_steps_through_lesson_one(new_page, app_url: str) -> None:
    """On a 1280 x 720 projector: six steps, each step's main picture on screen without
    scrolling, text at least 18 px, and the last step leads to lesson 2."""
    page = new_page(width=1280, height=720)
    open_page(page, f"{app_url}/?present=true")
    expect(page.locator("[data-testid=stSidebar]")).to_be_hidden()
    expect(page.get_by_text("Step 1 of 6")).to_be_visible()
    full_page_screenshot(page, SCREENSHOT_DIR / "present-step1-1280.png")
    expected_charts = [
        ["query_scores_bar"],
        ["query_weights_bars"],
        ["vectors_plot"],
        ["scores_heatmap", "weights_heatmap"],
        ["shuffled_weights_heatmap"],
    ]
    for step, charts in enumerate(expected_charts, start=2):
        runs = script_runs(page)
        page.keyboard.press("ArrowRight")
        wait_idle(page, since=runs)
        expect(page.get_by_text(f"Step {step} of 6")).to_be_visible()
        wait_charts(page, charts)
        sizes = page.evaluate(
            """(key) => [...document.querySelectorAll(
                 '.st-key-' + key + ' .js-plotly-plot text')]
               .map((t) => parseFloat(getComputedStyle(t).fontSize)).filter((s) => s > 0)""",
            charts[0],
        )
        assert sizes and min(sizes) >= 18, f"chart text smaller than 18 px at step {step}: {sizes}"
        for key in charts:
            assert picture_fits(page, key, 720), f"{key} is not wholly on screen at step {step}"
        page.screenshot(path=str(SCREENSHOT_DIR / f"present-step{step}-1280x720.png"))
    assert page.get_by_role("button", name="Next").count() == 0
    expect(
        page.locator("[data-testid=stMain]").get_by_role("link", name="Lesson 2", exact=True)
    ).to_be_visible()
    page.get_by_role("button", name="Leave").click()
    wait_charts(page, ["weights_heatmap"])
    expect(page.locator("[data-testid=stSidebar]")).to_be_visible()


def test_the_pretrained_lesson_takes_a_sentence(page: Page, app_url: str) -> None:
    open_page(page, f"{app_url}/Pretrained_transformer")
    wait_charts(page, ["l5_head_grid", "l5_head_heatmap"])
    box = page.get_by_role("textbox", name="A sentence (press Enter)")
    runs = script_runs(page)
    box.fill("Cats chase mice.")
    box.press("Enter")
    wait_idle(page, since=runs)
    expect(page.get_by_text("[CLS] · cats · chase · mice · . · [SEP]")).to_be_visible()
    wait_charts(page, ["l5_head_grid", "l5_head_heatmap"])
    heatmap = read_chart(page, "l5_head_heatmap")
    pieces = ["[CLS]", "cats", "chase", "mice", ".", "[SEP]"]
    assert heatmap["traces"][0]["y"] == [f"{i + 1}: {piece}" for i, piece in enumerate(pieces)]
    assert all(abs(sum(row) - 1) < 1e-4 for row in heatmap["traces"][0]["z"])
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        wait_rendered(page)
        if width == 390:
            overflow = horizontal_overflow(page)
            assert overflow["mainScrollWidth"] <= overflow["mainClientWidth"] + 1, overflow
        full_page_screenshot(page, SCREENSHOT_DIR / f"pretrained-sentence-{width}.png")


def test_hostile_tokens_stay_inert(page: Page, app_url: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, app_url + "/")
    box = page.locator("[data-testid=stSidebar] input[aria-label^='Tokens']")
    runs = script_runs(page)
    box.fill(" ".join(MARKUP))
    box.press("Enter")
    wait_idle(page, since=runs)
    wait_charts(page, ["weights_heatmap"])
    wait_rendered(page)
    assert page.locator(EXCEPTION).count() == 0
    heatmap = read_chart(page, "weights_heatmap")
    expected = " ".join(MARKUP).split()
    assert len(heatmap["traces"][0]["z"]) == len(expected)
    # Nothing the tokens describe exists as an element: no image, script, link or styled span.
    created = page.evaluate(
        """() => ({
          img: [...document.querySelectorAll('img')].filter(
            (e) => e.getAttribute('src') === 'x').length,
          script: [...document.querySelectorAll('script')].filter(
            (e) => e.textContent.includes('alert(1)')).length,
          a: [...document.querySelectorAll('a')].filter((e) => {
            const href = e.getAttribute('href') || '';
            return href.startsWith('javascript:') || href === 'https://example.com';
          }).length,
          span: [...document.querySelectorAll('span')].filter(
            (e) => (e.getAttribute('style') || '').includes('999px')).length,
          bold: [...document.querySelectorAll('b, strong')].filter(
            (e) => e.textContent === 'x').length,
          math: document.querySelectorAll('.katex').length,
        })"""
    )
    assert created == {"img": 0, "script": 0, "a": 0, "span": 0, "bold": 0, "math": 0}, created
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.evaluate("() => window.__xss === undefined")
    full_page_screenshot(page, SCREENSHOT_DIR / "hostile-tokens-1280.png")
